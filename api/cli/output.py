"""Writing a command's result to a file or to standard output."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def write(data: bytes, out: Path | None) -> None:
    """`data` to `out`, or to standard output when `out` is None or '-'."""
    if out is None or str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        typer.echo(f"已写入 {out}（{len(data)} 字节）", err=True)
