"""`tongban bench transitions`: full lifecycles through the service layer, on SQLite and
PostgreSQL, beside pgbench's tpcb-like TPS on the same server when pgbench is on PATH."""

from __future__ import annotations

import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import create_engine, make_url, text

from tongban.services import cases as c
from tongban.services.actors import Actor, load_actor
from tongban.services.catalog import load_catalog
from tongban.services.config import Settings
from tongban.services.demo import USERS, load_org, person_id
from tongban.services.guides import load_guides
from tongban.services.logs import configure_logging
from tongban.services.runtime import Runtime, open_runtime

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday the calendar package knows


@dataclass
class Timings:
    per_action: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def record(self, action: str, seconds: float) -> None:
        self.per_action[action].append(seconds)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.per_action.values())

    @property
    def total(self) -> float:
        return sum(sum(v) for v in self.per_action.values())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Step = tuple[str, Callable[[Runtime, Actor, str, datetime], object], str]


def _steps(doc: str) -> list[Step]:
    return [
        ("pass_formal_review", lambda rt, a, n, t: c.pass_formal_review(
            rt.uow(), rt.key, actor=a, case_no=n, now=t), "clerk.gc"),
        ("verify_identity", lambda rt, a, n, t: c.verify_identity(
            rt.uow(), rt.key, actor=a, case_no=n, now=t, document_number=doc), "clerk.gc"),
        ("forward", lambda rt, a, n, t: c.forward(
            rt.uow(), rt.key, actor=a, case_no=n, now=t), "clerk.gc"),
        ("accept", lambda rt, a, n, t: c.accept(
            rt.uow(), rt.key, actor=a, case_no=n, now=t), "reviewer.rs"),
        ("approve", lambda rt, a, n, t: c.approve(
            rt.uow(), rt.key, actor=a, case_no=n, now=t), "reviewer.rs"),
        ("deliver", lambda rt, a, n, t: c.deliver(
            rt.uow(), rt.key, actor=a, case_no=n, now=t, method="window"), "clerk.gc"),
        ("complete", lambda rt, a, n, t: c.complete(
            rt.uow(), rt.key, actor=a, case_no=n, now=t), "clerk.gc"),
    ]  # fmt: skip


def drive(rt: Runtime, cases: int) -> Timings:
    load_catalog(rt.uow())
    load_guides(rt.uow(), now=START)
    load_org(rt)
    with rt.uow() as uow:
        actors = {name: load_actor(uow.session, name) for name, *_ in USERS}
    timings = Timings()
    now = START
    for i in range(cases):
        doc = person_id("320102", "19880720", f"{i % 1000:03d}")
        app = c.Application(
            item_code="2-21", department_code="RS320102", applicant_kind="person",
            applicant_name="刘洋", applicant_id_number=doc, delivery_preference="window",
            materials=(c.MaterialIn("id_card"), c.MaterialIn("photo"),
                       c.MaterialIn("application_form")),
        )  # fmt: skip
        now += timedelta(seconds=7)
        began = time.perf_counter()
        case_no = c.register_case(
            rt.uow(), rt.key, actor=actors["clerk.gc"], application=app, now=now
        ).case_no
        timings.record("receive", time.perf_counter() - began)
        for name, run, who in _steps(doc):
            now += timedelta(seconds=7)
            began = time.perf_counter()
            run(rt, actors[who], case_no, now)
            timings.record(name, time.perf_counter() - began)
    return timings


def report(label: str, timings: Timings, out: TextIO) -> float:
    rate = timings.count / timings.total
    out.write(f"\n== {label}: {timings.count} transitions in {timings.total:.2f} s "
              f"= {rate:,.0f} transitions/s ==\n")  # fmt: skip
    out.write(f"{'action':<20}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}\n")
    for action, values in timings.per_action.items():
        out.write(
            f"{action:<20}{len(values):>6}{_pct(values, 0.5) * 1e3:>10.2f}"
            f"{_pct(values, 0.99) * 1e3:>10.2f}{statistics.fmean(values) * 1e3:>10.2f}\n"
        )
    return rate


@contextmanager
def _sqlite_runtime() -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                            audit_key=secrets.token_hex(32))  # fmt: skip
        rt = open_runtime(settings, init=True)
        try:
            yield rt
        finally:
            rt.engine.dispose()


@contextmanager
def _pg_runtime(url: str) -> Iterator[Runtime]:
    schema = f"tb_bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    settings = Settings(database_url=f"{url}{sep}options=-csearch_path%3D{schema}",
                        audit_key=secrets.token_hex(32))  # fmt: skip
    rt = open_runtime(settings, init=True)
    try:
        yield rt
    finally:
        rt.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def pgbench_tps(url: str, seconds: int, out: TextIO) -> float | None:
    """Single-client tpcb-like TPS on the same server, in a scratch database."""
    exe = shutil.which("pgbench")
    if exe is None:
        out.write("\npgbench not on PATH: no comparison figure.\n")
        return None
    u = make_url(url)
    scratch = f"tongban_pgbench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    conn_args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
                 "-U", u.username or "postgres"]  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {scratch}"))
    try:
        subprocess.run([exe, *conn_args, "-i", "-q", "-s", "1", scratch],
                       check=True, capture_output=True)  # fmt: skip
        run = subprocess.run(
            [exe, *conn_args, "-c", "1", "-j", "1", "-T", str(seconds), "-b", "tpcb-like", scratch],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {scratch}"))
        admin.dispose()
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    if match is None:
        out.write(f"\ncould not read pgbench output:\n{run.stdout}\n")
        return None
    tps = float(match.group(1))
    out.write(f"\n== pgbench tpcb-like, 1 client, {seconds} s: {tps:,.0f} TPS ==\n")
    return tps


def run_transitions_bench(*, cases: int, postgres_url: str | None, out: TextIO) -> None:
    # One log line per action is right in service, noise in a benchmark: warnings only.
    configure_logging(level="WARNING")
    out.write(f"tongban bench transitions: {cases} full lifecycles (8 transitions each) "
              "through the service layer\n")  # fmt: skip
    with _sqlite_runtime() as rt:
        sqlite_rate = report("SQLite (WAL, file)", drive(rt, cases), out)
    out.write(
        f"SQLite target ≥ 1,000 transitions/s: {'met' if sqlite_rate >= 1000 else 'NOT met'}\n"
    )
    if postgres_url is None:
        return
    with _pg_runtime(postgres_url) as rt:
        pg_rate = report("PostgreSQL", drive(rt, cases), out)
    tps = pgbench_tps(postgres_url, 10, out)
    if tps:
        share = pg_rate / tps
        verdict = "met" if share >= 0.5 else "NOT met"
        out.write(
            f"PostgreSQL transitions/s ÷ pgbench TPS = {share:.0%} (target ≥ 50 %: {verdict})\n"
        )
