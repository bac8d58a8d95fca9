"""`tongban bench deadlines`: one sweep over 10k due clocks among 100k and among 1M open ones,
on PostgreSQL, each in a throwaway schema; prints sweep times and the claim query's plan.

The sweep must cost what the due clocks cost, not the open ones: the 1M-open sweep may take
at most 1.5 x the 100k-open one.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import Engine, create_engine, func, select, text

from tongban.models import Alert, Department, Item, Office, OutboxMessage
from tongban.services.catalog import load_catalog
from tongban.services.config import Settings
from tongban.services.demo import load_org
from tongban.services.runtime import Runtime, open_runtime
from tongban.services.sweeper import claim_statement, sweep

DEFAULT_PG_URL = os.environ.get(
    "TONGBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A Wednesday 10:00 in Shanghai, in a year the calendar package knows.
NOW = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
TARGET_RATIO = 1.5


def schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema_runtime(url: str, prefix: str = "tb_bench_dl") -> Iterator[Runtime]:
    """A runtime on a fresh schema of `url`, dropped afterwards whatever happens."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    rt: Runtime | None = None
    try:
        settings = Settings(database_url=schema_url(url, schema), audit_key=secrets.token_hex(32))
        rt = open_runtime(settings, init=True)
        yield rt
    finally:
        if rt is not None:
            rt.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def seed_clocks(rt: Runtime, *, open_clocks: int, due: int, now: datetime = NOW) -> float:
    """Insert `open_clocks` running clocks (one case each), `due` of them with an alert due
    at `now` (half warnings, half overdue), the rest due days to weeks later.

    PostgreSQL only: rows are generated server-side (INSERT ... SELECT generate_series),
    which beats COPY from Python by not shipping a million rows over the socket.
    """
    began = time.perf_counter()
    load_catalog(rt.uow())
    load_org(rt)
    with rt.uow() as uow:
        item_id = uow.session.scalar(select(Item.id).order_by(Item.id))
        offices = list(uow.session.scalars(select(Office.id).order_by(Office.id)))
        departments = list(uow.session.scalars(select(Department.id).order_by(Department.id)))
    params = {
        "n": open_clocks,
        "due": due,
        "half": due // 2,
        "item": item_id,
        "offices": offices,
        "departments": departments,
        "now": now,
    }
    with rt.engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(
            text(
                """
                INSERT INTO cases (id, case_no, item_id, mode, state, version, office_id,
                    department_id, applicant_kind, applicant_name, applicant_id_number,
                    contact_phone, delivery_preference, delivery_address, originals_required,
                    received_at, updated_at, audit_seq, audit_head)
                SELECT g, 'BENCH-' || g, :item, 'proxy',
                    CASE WHEN g % 2 = 0 THEN 'received' ELSE 'forwarded' END, 1,
                    (CAST(:offices AS int[]))[1 + g % cardinality(CAST(:offices AS int[]))],
                    (CAST(:departments AS int[]))
                        [1 + g % cardinality(CAST(:departments AS int[]))],
                    'person', '测试申请人', '110101199003070000', '', 'window', '', false,
                    CAST(:now AS timestamptz) - interval '3 days',
                    CAST(:now AS timestamptz) - interval '3 days', 0, ''
                FROM generate_series(1, :n) AS g
                """
            ),
            params,
        )
        conn.execute(
            text(
                """
                INSERT INTO deadlines (case_id, stage, owner_side, office_id, department_id,
                    status, limit_seconds, used_seconds, started_at, resumed_at, due_at,
                    warn_at, uncertain, alert_level, next_alert_at)
                SELECT c.id,
                    CASE WHEN c.id % 2 = 0 THEN 'forward' ELSE 'accept' END,
                    CASE WHEN c.id % 2 = 0 THEN 'window' ELSE 'home' END,
                    CASE WHEN c.id % 2 = 0 THEN c.office_id END,
                    CASE WHEN c.id % 2 = 1 THEN c.department_id END,
                    'running', 2 * 86400, 0, t.started, t.started, t.due_at, t.warn_at, false,
                    0, t.warn_at
                FROM cases AS c
                CROSS JOIN LATERAL (
                    SELECT
                        CASE WHEN c.id <= :due THEN CAST(:now AS timestamptz) - interval '2 days'
                             ELSE CAST(:now AS timestamptz) - interval '1 hour' END AS started,
                        CASE
                            WHEN c.id <= :half THEN CAST(:now AS timestamptz) - interval '1 hour'
                            WHEN c.id <= :due THEN CAST(:now AS timestamptz) + interval '8 hours'
                            ELSE CAST(:now AS timestamptz) + interval '2 days'
                                 + (c.id % 30) * interval '1 day'
                        END AS due_at,
                        CASE
                            WHEN c.id <= :half THEN CAST(:now AS timestamptz) - interval '9 hours'
                            WHEN c.id <= :due THEN CAST(:now AS timestamptz) - interval '1 hour'
                            ELSE CAST(:now AS timestamptz) + interval '1 day'
                                 + (c.id % 30) * interval '1 day'
                        END AS warn_at
                ) AS t
                """
            ),
            params,
        )
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), params)
    _vacuum(rt.engine)
    return time.perf_counter() - began


def _vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("cases", "deadlines", "audit_events", "alerts", "outbox"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def explain_claim(rt: Runtime, *, now: datetime, batch: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the first claim, in a transaction rolled back after."""
    with rt.engine.connect() as conn:
        stmt = claim_statement(now, batch, None, postgresql=True)
        compiled = stmt.compile(dialect=conn.dialect)
        sql = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(compiled)
        rows = conn.exec_driver_sql(sql, compiled.params).all()
        conn.rollback()
    return "\n".join(row[0] for row in rows)


@dataclass
class Figures:
    open_clocks: int
    due: int
    seed_seconds: float
    sweep_seconds: float
    alerts: int
    outbox: int
    batches: int
    plan: str


def measure(url: str, *, open_clocks: int, due: int, batch: int) -> Figures:
    with pg_schema_runtime(url) as rt:
        seeded = seed_clocks(rt, open_clocks=open_clocks, due=due)
        plan = explain_claim(rt, now=NOW, batch=batch)
        report = sweep(rt, now=NOW, batch=batch)
        with rt.uow() as uow:
            alerts = uow.session.scalar(select(func.count()).select_from(Alert)) or 0
            outbox = uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        return Figures(
            open_clocks, due, seeded, report.seconds, alerts, outbox, report.batches, plan
        )


def run_deadlines_bench(
    *,
    postgres_url: str | None,
    sizes: tuple[int, ...] = (100_000, 1_000_000),
    due: int = 10_000,
    batch: int = 500,
    out: TextIO,
) -> list[Figures]:
    url = postgres_url or DEFAULT_PG_URL
    out.write(
        f"tongban bench deadlines: one sweep over {due:,} due clocks among "
        f"{' and '.join(f'{n:,}' for n in sizes)} open ones (PostgreSQL, batch {batch})\n"
    )
    results: list[Figures] = []
    for n in sizes:
        f = measure(url, open_clocks=n, due=due, batch=batch)
        results.append(f)
        out.write(f"\n== {n:,} open clocks, {due:,} due ==\n")
        out.write(f"seeded in {f.seed_seconds:.1f} s (INSERT ... SELECT generate_series)\n")
        out.write(f"claim query plan, first batch (EXPLAIN ANALYZE):\n{_indent(f.plan)}\n")
        rate = f.alerts / f.sweep_seconds if f.sweep_seconds else 0.0
        out.write(
            f"sweep: {f.alerts:,} alerts, {f.outbox:,} outbox messages, {f.batches} batches "
            f"in {f.sweep_seconds:.2f} s = {rate:,.0f} alerts/s\n"
        )
        if f.alerts != due:
            out.write(f"ERROR: expected {due:,} alerts, recorded {f.alerts:,}\n")
    if len(results) >= 2:
        base, big = results[0], results[-1]
        ratio = big.sweep_seconds / base.sweep_seconds
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        out.write(
            f"\nsweep time {big.open_clocks:,} open ÷ {base.open_clocks:,} open = {ratio:.2f} "
            f"(target ≤ {TARGET_RATIO}: {verdict})\n"
        )
    return results


def _indent(block: str) -> str:
    return "\n".join("    " + line for line in block.splitlines())


__all__ = ["NOW", "Figures", "pg_schema_runtime", "run_deadlines_bench", "seed_clocks"]
