"""`tongban bench http`: full lifecycles through the JSON API of a real `tongban serve` on
PostgreSQL, against the service-layer rate measured on the same database in the same run.

The load generator is bounded: `concurrency` virtual users, each on one keep-alive HTTP/1.1
connection over loopback, each driving whole lifecycles (receipt and seven actions) one
request after another, until `cases` lifecycles are done. It speaks raw HTTP on asyncio
streams, so it costs the two cores as little as it can. The last line is for machines:

    bench-http: workers=N rps=N p50_ms=N p99_ms=N service_tps=N http_vs_service=0.NN
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tongban.services.core.config import Settings
from tongban.services.core.runtime import open_runtime
from tongban.services.demo import DEMO_PASSWORD, person_id
from tongban.services.files.samples import multipart, png

from .seeding import BENCH_FILES, pg_schema, schema_url
from .transitions import CLERKS, REVIEWER, SCANNED, TRANSITIONS_PER_LIFECYCLE, drive, prepare

DEFAULT_PG_URL = os.environ.get(
    "TONGBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Each virtual user works at one of the windows in turn (the demo's clerks).
WINDOWS = ("clerk.gc", "clerk.cz", "clerk.hz")


class HttpError(Exception):
    pass


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # seconds, every request
    transitions: int = 0
    began: float = 0.0
    ended: float = 0.0

    @property
    def rate(self) -> float:
        return self.transitions / (self.ended - self.began)


class Connection:
    """One keep-alive HTTP/1.1 connection; requests one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        *,
        raw: tuple[bytes, str] | None = None,
    ) -> tuple[int, Any]:
        """A JSON `body`, or `raw` (bytes and their Content-Type)."""
        if raw is not None:
            data, content_type = raw
        else:
            data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
            content_type = "application/json" if body is not None else ""
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
        if content_type:
            head.append(f"Content-Type: {content_type}")
        if token is not None:
            head.append(f"Authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        payload = await self.reader.readexactly(length) if length else b""
        return status, json.loads(payload) if payload else None

    def close(self) -> None:
        self.writer.close()


async def _sign_in(port: int, username: str) -> str:
    conn = await Connection.open(port)
    try:
        status, body = await conn.request(
            "POST", "/api/session", {"username": username, "password": DEMO_PASSWORD}
        )
    finally:
        conn.close()
    if status != 201:
        raise HttpError(f"sign-in as {username}: HTTP {status} {body}")
    return str(body["token"])


def _application(i: int) -> dict[str, Any]:
    return {
        "item_code": "2-21",
        "department_code": "RS320102",
        "applicant_kind": "person",
        "applicant_name": "刘洋",
        "applicant_id_number": person_id("320102", "19880720", f"{i % 1000:03d}"),
        "delivery_preference": "window",
        "materials": [{"code": "id_card"}, {"code": "photo"}, {"code": "application_form"}],
    }


def _steps(document: str) -> list[tuple[str, dict[str, Any], str]]:
    """(action, body, who): who is "clerk" or "reviewer"."""
    return [
        ("pass_formal_review", {}, "clerk"),
        ("verify_identity", {"document_number": document}, "clerk"),
        ("forward", {}, "clerk"),
        ("accept", {}, "reviewer"),
        ("approve", {}, "reviewer"),
        ("send_to_window", {}, "reviewer"),
        ("deliver", {"method": "window"}, "clerk"),
        ("complete", {}, "clerk"),
    ]


async def _user(
    port: int, tokens: dict[str, str], clerk: str, queue: asyncio.Queue[int], load: Load
) -> None:
    conn = await Connection.open(port)
    who = {"clerk": tokens[clerk], "reviewer": tokens[REVIEWER]}

    async def timed(method: str, path: str, body: Any, token: str, expect: int) -> Any:
        began = time.perf_counter()
        status, out = await conn.request(method, path, body, token)
        load.latencies.append(time.perf_counter() - began)
        if status != expect:
            raise HttpError(f"{method} {path}: HTTP {status} {out}")
        load.transitions += 1
        return out

    try:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            app = _application(i)
            made = await timed("POST", "/api/cases", app, who["clerk"], 201)
            # The scans a forward needs: uploads, neither timed nor counted as transitions.
            for n, slot in enumerate(SCANNED):
                upload = multipart({"slot": slot}, f"{slot}.png", png(seed=i * 3 + n), "image/png")
                path = f"/api/cases/{made['case_no']}/materials"
                status, out = await conn.request("POST", path, token=who["clerk"], raw=upload)
                if status != 201:
                    raise HttpError(f"POST {path}: HTTP {status} {out}")
            version = made["version"]
            for action, body, role in _steps(app["applicant_id_number"]):
                path = f"/api/cases/{made['case_no']}/actions/{action}"
                done = await timed("POST", path, {**body, "version": version}, who[role], 200)
                version = done["version"]
    finally:
        conn.close()


async def _drive_http(port: int, cases: int, concurrency: int) -> Load:
    tokens = {name: await _sign_in(port, name) for name in (*WINDOWS, REVIEWER)}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(cases):
        queue.put_nowait(500_000 + i)
    load = Load()
    load.began = time.perf_counter()
    await asyncio.gather(
        *(_user(port, tokens, WINDOWS[n % len(WINDOWS)], queue, load) for n in range(concurrency))
    )
    load.ended = time.perf_counter()
    return load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, key: str, workers: int, files_dir: Path = BENCH_FILES) -> Iterator[int]:
    """`tongban serve --workers N` on a free loopback port, until the block ends."""
    port = _free_port()
    exe = shutil.which("tongban") or os.path.join(os.path.dirname(sys.executable), "tongban")
    env = {
        **os.environ,
        "TONGBAN_DATABASE_URL": url,
        "TONGBAN_AUDIT_KEY": key,
        "TONGBAN_SESSION_SECRET": key[::-1],
        "TONGBAN_LOG_LEVEL": "WARNING",
        "TONGBAN_ENV": "production",
        "TONGBAN_FILES_DIR": str(files_dir),
    }
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--workers", str(workers), "--no-sweeper"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HttpError(f"tongban serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if b" 200 " in s.recv(200):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise HttpError("tongban serve did not answer /healthz within 60 s")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_http_bench(
    *, postgres_url: str | None, workers: int, cases: int, concurrency: int, out: TextIO
) -> dict[str, float]:
    url = postgres_url or DEFAULT_PG_URL
    out.write(
        f"tongban bench http: {cases} full lifecycles through the JSON API of tongban serve "
        f"(--workers {workers}) on PostgreSQL, {concurrency} requests in flight\n"
    )
    with pg_schema(url, "tb_bench_http") as schema:
        key = secrets.token_hex(32)
        database = schema_url(url, schema)
        rt = open_runtime(
            Settings(
                database_url=database,
                audit_key=key,
                session_secret=key[::-1],
                files_dir=BENCH_FILES,
            ),
            init=True,
        )
        try:
            actors = prepare(rt)
            drive(rt, actors, 5, first=990_000)  # warm up
            service = drive(rt, actors, cases, clerk=CLERKS[0]).rate
        finally:
            rt.close()
        out.write(f"service layer, same database, one thread: {service:,.0f} transitions/s\n")
        with _server(database, key, workers) as port:
            asyncio.run(_drive_http(port, max(concurrency, 8), concurrency))  # warm up
            load = asyncio.run(_drive_http(port, cases, concurrency))
    expected = cases * TRANSITIONS_PER_LIFECYCLE
    if load.transitions != expected:
        raise HttpError(f"{load.transitions} of {expected} transitions answered")
    p50, p99 = _pct(load.latencies, 0.5) * 1e3, _pct(load.latencies, 0.99) * 1e3
    ratio = load.rate / service
    out.write(
        f"HTTP: {load.transitions} transitions in {load.ended - load.began:.2f} s = "
        f"{load.rate:,.0f} transitions/s; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms\n"
        f"targets: HTTP ≥ 70 % of the service layer: {ratio:.0%} "
        f"({'met' if ratio >= 0.7 else 'NOT met'}); p99 < 100 ms: "
        f"{'met' if p99 < 100 else 'NOT met'}\n"
    )
    out.write(
        f"\nbench-http: workers={workers} rps={load.rate:.0f} p50_ms={p50:.1f} "
        f"p99_ms={p99:.1f} service_tps={service:.0f} http_vs_service={ratio:.2f}\n"
    )
    return {"rps": load.rate, "p50_ms": p50, "p99_ms": p99, "service_tps": service}
