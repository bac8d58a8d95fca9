"""`tongban files verify|gc`: the scanned materials' blob store."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from tongban.services.core.errors import DomainError
from tongban.services.files.maintenance import gc, verify

from .common import fail, runtime

files_app = typer.Typer(help="The scanned materials' blob store.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT = {"": 3600, "s": 1, "m": 60, "h": 3600, "d": 86400}


def grace_seconds(text: str) -> float:
    """`24h`, `90m`, `2d`, `3600s`, or a number of hours."""
    found = _DURATION.match(text.strip().lower())
    if found is None:
        raise typer.BadParameter(f"无法识别的时长「{text}」，例如 24h、90m、2d。")
    return float(found.group(1)) * _UNIT[found.group(2)]


@files_app.command("verify")
def files_verify() -> None:
    """Re-hash every stored file and every one a case names; list each missing or altered
    one and exit 1 if there is any."""
    try:
        with runtime() as rt:
            problems = list(verify(rt.uow()))
    except DomainError as err:
        fail(err)
    for problem in problems:
        typer.echo(f"{problem.problem.upper()} {problem}")
    if problems:
        typer.secho(
            f"文件校验失败：{len(problems)} 个文件缺失或被改动。", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
    typer.echo("文件校验通过。")


@files_app.command("gc")
def files_gc(
    grace: Annotated[
        str | None,
        typer.Option(
            "--grace",
            help="Keep unreferenced files younger than this (24h, 90m, 2d); "
            "default TONGBAN_FILES_GC_GRACE_HOURS.",
        ),
    ] = None,
) -> None:
    """Remove stored files no case references, older than the grace period, and the
    leftovers of interrupted uploads."""
    try:
        with runtime() as rt:
            seconds = (
                grace_seconds(grace)
                if grace is not None
                else rt.settings.files_gc_grace_hours * 3600
            )
            sweep = gc(rt.uow(), grace_seconds=seconds)
    except DomainError as err:
        fail(err)
    for sha in sweep.removed:
        typer.echo(f"REMOVED {sha}")
    typer.echo(
        f"已清理无引用文件 {len(sweep.removed)} 个、中断上传的临时文件 {sweep.temporaries} 个；"
        f"保留宽限期内的无引用文件 {sweep.kept_young} 个。"
    )
