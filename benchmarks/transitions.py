"""`tongban bench transitions`: full lifecycles through the service layer, and what they are
measured against.

For each database: the service-layer rate (8 transitions per lifecycle: the receipt and 7
actions, each its own transaction), then the exact statements of one lifecycle replayed on
the bare driver. On PostgreSQL also pgbench's single-client tpcb-like TPS on the same server,
and two processes driving lifecycles at once against one. The last line is for machines:

    bench: sqlite_tps=N pg_tps=N pg_raw_tps=N pgbench_tps=N pg_vs_pgbench=0.NN
           pg_vs_raw=0.NN pg_2proc_speedup=N.NN   (one line)
"""

from __future__ import annotations

import io
import multiprocessing
import secrets
import sqlite3
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import psycopg
from sqlalchemy import make_url

from tongban.services.cases.act import act
from tongban.services.cases.receive import receive
from tongban.services.catalog.items import load_catalog
from tongban.services.core.config import Settings
from tongban.services.core.logs import configure_logging
from tongban.services.core.runtime import Runtime, open_runtime
from tongban.services.demo import load_org, person_id
from tongban.services.files.materials import upload
from tongban.services.files.samples import png
from tongban.services.guides.store import load_guides
from tongban.services.users.actors import Actor, load_actor
from tongban.workflow.commands import (
    Accept,
    Application,
    Approve,
    CaseCommand,
    Complete,
    Deliver,
    Forward,
    MaterialIn,
    PassFormalReview,
    SendToWindow,
    VerifyIdentity,
)
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.identity import ApplicantKind

from .pgbench import pgbench_tps
from .replay import Recording, Replay, psycopg_recorder, sqlite_connection_class
from .seeding import BENCH_FILES, pg_schema, schema_url, sqlite_file

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday the calendar package knows
TRANSITIONS_PER_LIFECYCLE = 9  # the receipt and eight actions
# Each process of the two-process run works at its own window, so the two share no row.
CLERKS = ("clerk.gc", "clerk.hz")
REVIEWER = "reviewer.rs"


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

    @property
    def rate(self) -> float:
        return float(self.count / self.total)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _application(i: int) -> Application:
    return Application(
        item_code="2-21",
        department_code="RS320102",
        applicant_kind=ApplicantKind.PERSON,
        applicant_name="刘洋",
        applicant_id_number=person_id("320102", "19880720", f"{i % 1000:03d}"),
        delivery_preference=DeliveryMethod.WINDOW,
        materials=(MaterialIn("id_card"), MaterialIn("photo"), MaterialIn("application_form")),
    )


def _steps(case_no: str, document: str, clerk: str) -> list[tuple[CaseCommand, str]]:
    return [
        (PassFormalReview(case_no=case_no), clerk),
        (VerifyIdentity(case_no=case_no, document_number=document), clerk),
        (Forward(case_no=case_no), clerk),
        (Accept(case_no=case_no), REVIEWER),
        (Approve(case_no=case_no), REVIEWER),
        (SendToWindow(case_no=case_no), REVIEWER),
        (Deliver(case_no=case_no, method=DeliveryMethod.WINDOW), clerk),
        (Complete(case_no=case_no), clerk),
    ]


SCANNED = ("id_card", "photo", "application_form")


def scan(rt: Runtime, actor: Actor, case_no: str, now: datetime, i: int) -> None:
    """The clerk's scans of the three materials (a forward needs them); not a transition,
    so neither timed nor counted."""
    for n, slot in enumerate(SCANNED):
        data = png(seed=i * len(SCANNED) + n)
        upload(
            rt.uow(), case_no=case_no, slot=slot, filename=f"{slot}.png",
            stream=io.BytesIO(data), actor=actor, now=now,
        )  # fmt: skip


def prepare(rt: Runtime) -> dict[str, Actor]:
    """Catalog, guides and the demo organisation; the actors by username."""
    load_catalog(rt.uow())
    load_guides(rt.uow(), now=START)
    load_org(rt.uow())
    return {name: load_actor(rt.uow(), name) for name in (*CLERKS, REVIEWER)}


def drive(
    rt: Runtime,
    actors: dict[str, Actor],
    cases: int,
    *,
    clerk: str = CLERKS[0],
    first: int = 0,
    start: datetime = START,
    before_each: Callable[[int], None] | None = None,
    scanning: Callable[[bool], None] | None = None,
) -> Timings:
    """`cases` full lifecycles at `clerk`'s window, each action timed (the uploads of the
    scans between the receipt and the formal review are not: `scanning(True)` and
    `scanning(False)` bracket them, so that a recording can leave them out)."""
    timings = Timings()
    now = start
    for i in range(first, first + cases):
        if before_each is not None:
            before_each(i)
        app = _application(i)
        now += timedelta(seconds=7)
        began = time.perf_counter()
        case_no = receive(rt.uow(), app, actor=actors[clerk], now=now).case_no
        timings.record("receive", time.perf_counter() - began)
        if scanning is not None:
            scanning(True)
        scan(rt, actors[clerk], case_no, now, i)
        if scanning is not None:
            scanning(False)
        for command, who in _steps(case_no, app.applicant_id_number, clerk):
            now += timedelta(seconds=7)
            began = time.perf_counter()
            act(rt.uow(), command, actor=actors[who], now=now)
            timings.record(type(command).__name__, time.perf_counter() - began)
    return timings


def report(label: str, timings: Timings, out: TextIO) -> float:
    out.write(
        f"\n== {label}: {timings.count} transitions in {timings.total:.2f} s "
        f"= {timings.rate:,.0f} transitions/s ==\n"
    )
    out.write(f"{'action':<20}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}\n")
    for action, values in timings.per_action.items():
        out.write(
            f"{action:<20}{len(values):>6}{_pct(values, 0.5) * 1e3:>10.2f}"
            f"{_pct(values, 0.99) * 1e3:>10.2f}{statistics.fmean(values) * 1e3:>10.2f}\n"
        )
    return timings.rate


# --- one lifecycle's statements, recorded and replayed --------------------------------------


def record_lifecycle(database_url: str) -> Replay:
    """The statements of one lifecycle in steady state (caches warm), recorded at the driver
    of a runtime over `database_url` (migrated here), ready to replay there."""
    recording = Recording()
    settings = Settings(
        database_url=database_url, audit_key=secrets.token_hex(32), files_dir=BENCH_FILES
    )
    if make_url(database_url).get_backend_name() == "sqlite":
        factory = sqlite_connection_class(recording)
        rt = open_runtime(settings, init=True, connect_args={"factory": factory})
    else:
        creator, raw_cursor = psycopg_recorder(_conninfo(database_url), recording)
        rt = open_runtime(settings, init=True, creator=creator)
        rt.statements.cursor_class = raw_cursor
    try:
        actors = prepare(rt)
        drive(rt, actors, 3, first=900_000)  # warm the guide configs, calendar and statements
        # The scans' uploads are left out (they move no version; the replay is of the
        # transitions alone, whose events come after the uploads' in the chain).
        recording.on = True

        def scanning(started: bool) -> None:
            recording.on = not started

        drive(rt, actors, 1, first=900_003, scanning=scanning)
        recording.on = False
        return Replay(recording, rt.statements)
    finally:
        rt.close()


def bare_connection(database_url: str) -> Any:
    """A driver connection set up as the engine's are: sqlite3 in WAL without pysqlite's own
    transactions, psycopg in autocommit (the statements say where a transaction begins)."""
    u = make_url(database_url)
    if u.get_backend_name() == "sqlite":
        conn = sqlite3.connect(u.database or ":memory:", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        return conn
    return psycopg.connect(_conninfo(database_url), autocommit=True)


def _replay_rate(database_url: str, cases: int) -> tuple[int, float]:
    """Statements per lifecycle, and transitions/s replaying them on the bare driver."""
    replay = record_lifecycle(database_url)
    conn = bare_connection(database_url)
    try:
        rate = replay.rate(conn, cases, TRANSITIONS_PER_LIFECYCLE, prefix="REPLAY")
    finally:
        conn.close()
    return replay.recording.statements, rate


def _sqlite_replay(cases: int, out: TextIO) -> float:
    with sqlite_file() as path:
        statements, rate = _replay_rate(f"sqlite:///{path}", cases)
    out.write(
        f"\n== SQLite, the same {statements} statements per lifecycle on bare "
        f"sqlite3: {rate:,.0f} transitions/s ==\n"
    )
    return rate


def _pg_replay(url: str, cases: int, out: TextIO) -> float:
    with pg_schema(url) as schema:
        statements, rate = _replay_rate(schema_url(url, schema), cases)
    out.write(
        f"\n== PostgreSQL, the same {statements} statements per lifecycle on bare "
        f"psycopg (one round trip each): {rate:,.0f} transitions/s ==\n"
    )
    return rate


def _conninfo(sqlalchemy_url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (options included)."""
    u = make_url(sqlalchemy_url)
    parts = [
        f"host={u.host or '127.0.0.1'}",
        f"port={u.port or 5432}",
        f"user={u.username or 'postgres'}",
        f"dbname={u.database or 'postgres'}",
    ]
    if u.password:
        parts.append(f"password={u.password}")
    options = u.query.get("options")
    if options:
        parts.append(f"options='{options if isinstance(options, str) else options[0]}'")
    return " ".join(parts)


# --- two processes at once ----------------------------------------------------------------


def _worker(url: str, key: str, clerk: str, cases: int, barrier: Any, out: Any) -> None:
    configure_logging(level="WARNING")
    rt = open_runtime(
        Settings(database_url=url, audit_key=key, files_dir=BENCH_FILES, log_level="WARNING")
    )
    try:
        actors = {name: load_actor(rt.uow(), name) for name in (clerk, REVIEWER)}
        drive(rt, actors, 2, clerk=clerk, first=800_000)  # warm up
        barrier.wait(timeout=120)
        began = time.perf_counter()
        timings = drive(rt, actors, cases, clerk=clerk, first=700_000)
        out.put((began, time.perf_counter(), timings.count))
    finally:
        rt.close()


def two_processes(url: str, key: str, cases: int) -> float:
    """Transitions/s of two processes driving lifecycles at once (wall time of both)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, key, clerk, cases, barrier, out))
             for clerk in CLERKS]  # fmt: skip
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    began = min(r[0] for r in results)
    ended = max(r[1] for r in results)
    return float(sum(r[2] for r in results) / (ended - began))


# --- the run ------------------------------------------------------------------------------


@contextmanager
def _measured_pg(url: str) -> Iterator[tuple[Runtime, str]]:
    with pg_schema(url) as schema:
        key = secrets.token_hex(32)
        settings = Settings(
            database_url=schema_url(url, schema), audit_key=key, files_dir=BENCH_FILES
        )
        rt = open_runtime(settings, init=True)
        try:
            yield rt, key
        finally:
            rt.close()


def run_transitions_bench(
    *, cases: int, postgres_url: str | None, out: TextIO, pgbench_seconds: int = 10
) -> dict[str, float]:
    out.write(
        f"tongban bench transitions: {cases} full lifecycles ({TRANSITIONS_PER_LIFECYCLE} "
        "transitions each) through the service layer\n"
    )
    figures: dict[str, float] = {}
    with sqlite_file() as path:
        settings = Settings(
            database_url=f"sqlite:///{path}", audit_key=secrets.token_hex(32), files_dir=BENCH_FILES
        )
        rt = open_runtime(settings, init=True)
        try:
            actors = prepare(rt)
            drive(rt, actors, 5, first=990_000)  # warm up
            figures["sqlite_tps"] = report("SQLite (WAL, file)", drive(rt, actors, cases), out)
        finally:
            rt.close()
    figures["sqlite_raw_tps"] = _sqlite_replay(cases, out)
    out.write(f"SQLite target ≥ 1,000 transitions/s: "
              f"{'met' if figures['sqlite_tps'] >= 1000 else 'NOT met'}\n")  # fmt: skip
    if postgres_url is None:
        out.write(f"\nbench: sqlite_tps={figures['sqlite_tps']:.0f}\n")
        return figures
    with _measured_pg(postgres_url) as (rt, key):
        actors = prepare(rt)
        drive(rt, actors, 5, first=990_000)
        figures["pg_tps"] = report("PostgreSQL", drive(rt, actors, cases), out)
        url = rt.settings.database_url
        figures["pg_2proc_tps"] = two_processes(url, key, cases)
    figures["pg_raw_tps"] = _pg_replay(postgres_url, cases, out)
    tps = pgbench_tps(postgres_url, pgbench_seconds, out)
    figures["pgbench_tps"] = tps or 0.0
    figures["pg_vs_pgbench"] = figures["pg_tps"] / tps if tps else 0.0
    figures["pg_vs_raw"] = figures["pg_tps"] / figures["pg_raw_tps"]
    figures["pg_2proc_speedup"] = figures["pg_2proc_tps"] / figures["pg_tps"]
    out.write(
        f"\n== PostgreSQL, two processes at once: {figures['pg_2proc_tps']:,.0f} transitions/s "
        f"= {figures['pg_2proc_speedup']:.2f} x one ==\n"
    )
    out.write(_verdicts(figures))
    out.write(
        f"\nbench: sqlite_tps={figures['sqlite_tps']:.0f} pg_tps={figures['pg_tps']:.0f} "
        f"pg_raw_tps={figures['pg_raw_tps']:.0f} pgbench_tps={figures['pgbench_tps']:.0f} "
        f"pg_vs_pgbench={figures['pg_vs_pgbench']:.2f} pg_vs_raw={figures['pg_vs_raw']:.2f} "
        f"pg_2proc_speedup={figures['pg_2proc_speedup']:.2f}\n"
    )
    return figures


def _verdicts(f: dict[str, float]) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return (
        f"\ntargets: PostgreSQL ≥ 50 % of pgbench: {f['pg_vs_pgbench']:.0%} "
        f"({verdict(f['pg_vs_pgbench'] >= 0.5)}); ≥ 60 % of the raw replay: "
        f"{f['pg_vs_raw']:.0%} ({verdict(f['pg_vs_raw'] >= 0.6)}); two processes ≥ 1.5 x one: "
        f"{f['pg_2proc_speedup']:.2f} ({verdict(f['pg_2proc_speedup'] >= 1.5)})\n"
    )
