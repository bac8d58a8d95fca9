"""`tongban bench files`: upload throughput of scanned materials through the JSON API of a
real `tongban serve` (uvicorn over loopback HTTP, SQLite in the work folder), against a
plain copy of the same files on the same disk in the same run.

The files: `count` distinct one-page PDFs of `size` bytes each (a page and a stream of
random bytes, so that nothing deduplicates). The copy reads each file and writes it to a new
file, fsynced (what the blob store does for durability; the unsynced copy is printed too).
The uploads go `concurrency` at a time, each connection keeping one case, one multipart
request per file. The last line is for machines:

    bench-files: api_mib_s=N copy_mib_s=N ratio=N
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from tongban.services.cases.receive import receive
from tongban.services.core.config import Settings
from tongban.services.core.runtime import open_runtime
from tongban.services.files.samples import multipart, pdf_of_size

from .http import Connection, HttpError, _server, _sign_in
from .transitions import CLERKS, _application, prepare

MIB = 1 << 20


def _copy(sources: list[Path], target: Path, *, sync: bool) -> float:
    """Seconds to copy every file into `target` (each fsynced when `sync`)."""
    target.mkdir()
    began = time.perf_counter()
    for src in sources:
        with src.open("rb") as f, (target / src.name).open("wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)
            if sync:
                out.flush()
                os.fsync(out.fileno())
    if sync:
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(fd)
        os.close(fd)
    return time.perf_counter() - began


async def _upload_all(
    port: int, token: str, cases: list[str], files: list[Path], concurrency: int
) -> float:
    queue: asyncio.Queue[Path] = asyncio.Queue()
    for f in files:
        queue.put_nowait(f)

    async def user(case_no: str) -> None:
        conn = await Connection.open(port)
        try:
            while True:
                try:
                    f = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                body = multipart(
                    {"slot": "application_form"}, f.name, f.read_bytes(), "application/pdf"
                )
                status, out = await conn.request(
                    "POST", f"/api/cases/{case_no}/materials", token=token, raw=body
                )
                if status != 201:
                    raise HttpError(f"upload {f.name}: HTTP {status} {out}")
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(user(cases[n]) for n in range(concurrency)))
    return time.perf_counter() - began


def run_files_bench(
    *, count: int, size: int, concurrency: int, folder: Path | None, out: TextIO
) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="tongban-bench-files-", dir=folder))
    out.write(
        f"tongban bench files: {count} PDFs of {size // 1024} KiB through the JSON API of "
        f"tongban serve (uvicorn, loopback HTTP, SQLite), {concurrency} uploads in flight, "
        f"against a plain copy in {work}\n"
    )
    try:
        sources = work / "source"
        sources.mkdir()
        files = []
        for i in range(count):
            path = sources / f"scan-{i:05d}.pdf"
            path.write_bytes(pdf_of_size(size, f"scan {i}"))
            files.append(path)
        total = sum(f.stat().st_size for f in files) / MIB
        copy_nosync = total / _copy(files, work / "copy-nosync", sync=False)
        copy = total / _copy(files, work / "copy", sync=True)
        key = secrets.token_hex(32)
        database = f"sqlite:///{work / 'tongban.db'}"
        store = work / "store"
        rt = open_runtime(
            Settings(database_url=database, audit_key=key, files_dir=store), init=True
        )
        try:
            actors = prepare(rt)
            now = datetime.now(UTC)
            cases = [
                receive(
                    rt.uow(), _application(800_000 + n), actor=actors[CLERKS[0]], now=now
                ).case_no
                for n in range(concurrency)
            ]
        finally:
            rt.close()
        os.environ["TONGBAN_MAX_FILE_BYTES"] = str(max(size * 2, 20 * MIB))
        with _server(database, key, 1, files_dir=store) as port:
            token = asyncio.run(_sign_in(port, CLERKS[0]))
            seconds = asyncio.run(_upload_all(port, token, cases, files, concurrency))
        api = total / seconds
        stored = sum(1 for p in store.rglob("*") if p.is_file() and len(p.name) == 64)
        if stored != count:
            raise HttpError(f"{stored} of {count} files in the store")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = api / copy
    out.write(
        f"plain copy, fsynced per file: {copy:,.1f} MiB/s (without fsync: {copy_nosync:,.1f})\n"
        f"API uploads: {count} files, {total:,.1f} MiB in {seconds:.2f} s = {api:,.1f} MiB/s "
        f"({count / seconds:,.0f} files/s)\n"
        f"target: API ≥ 50 % of the fsynced copy: {ratio:.0%} "
        f"({'met' if ratio >= 0.5 else 'NOT met'})\n"
        f"\nbench-files: api_mib_s={api:.1f} copy_mib_s={copy:.1f} ratio={ratio:.2f}\n"
    )
    return {"api_mib_s": api, "copy_mib_s": copy, "ratio": ratio}
