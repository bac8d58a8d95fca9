"""`tongban bench deadlines`: one sweep over 10k due deadlines among 100k and among 1M open
ones, on PostgreSQL, each in a throwaway schema; prints sweep times and the claim query's plan.

The sweep must cost what the due deadlines cost, not the open ones: the 1M-open sweep may
take at most 1.5 x the 100k-open one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import func, select

from tongban.models import Alert, OutboxMessage
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines.sweeper import claim_statement, sweep

from .seeding import pg_runtime, seed_deadlines

DEFAULT_PG_URL = os.environ.get(
    "TONGBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A Wednesday 10:00 in Shanghai, in a year the calendar package knows.
NOW = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
TARGET_RATIO = 1.5


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
    open_deadlines: int
    due: int
    seed_seconds: float
    sweep_seconds: float
    alerts: int
    outbox: int
    batches: int
    plan: str


def measure(url: str, *, open_deadlines: int, due: int, batch: int) -> Figures:
    with pg_runtime(url, prefix="tb_bench_dl") as rt:
        began = time.perf_counter()
        seed_deadlines(rt, open_deadlines=open_deadlines, due=due, now=NOW)
        seeded = time.perf_counter() - began
        plan = explain_claim(rt, now=NOW, batch=batch)
        report = sweep(rt.uow(), now=NOW, batch=batch)
        with rt.uow() as uow:
            alerts = uow.session.scalar(select(func.count()).select_from(Alert)) or 0
            outbox = uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        return Figures(
            open_deadlines, due, seeded, report.seconds, alerts, outbox, report.batches, plan
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
        f"tongban bench deadlines: one sweep over {due:,} due deadlines among "
        f"{' and '.join(f'{n:,}' for n in sizes)} open ones (PostgreSQL, batch {batch})\n"
    )
    results: list[Figures] = []
    for n in sizes:
        f = measure(url, open_deadlines=n, due=due, batch=batch)
        results.append(f)
        out.write(f"\n== {n:,} open deadlines, {due:,} due ==\n")
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
            f"\nsweep time {big.open_deadlines:,} open ÷ {base.open_deadlines:,} open = "
            f"{ratio:.2f} (target ≤ {TARGET_RATIO}: {verdict})\n"
        )
    return results


def _indent(block: str) -> str:
    return "\n".join("    " + line for line in block.splitlines())
