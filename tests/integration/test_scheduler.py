"""The sweeper on a timer (APScheduler as a trigger only), and the deadlines benchmark."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest

from tongban.api.bench_deadlines import run_deadlines_bench
from tongban.services.runtime import Runtime
from tongban.services.scheduler import run_jobs, start_sweeper

from ..conftest import PG_URL
from ..deadline_support import all_alerts, receive_at
from ..world import build_world, diploma_application


def test_in_process_sweeper_runs_at_once_and_stops(sqlite_rt: Runtime) -> None:
    world = build_world(sqlite_rt)
    receive_at(world, diploma_application(), datetime.now(UTC) - timedelta(days=30))
    handle = start_sweeper(sqlite_rt, interval_seconds=3600)
    shared = start_sweeper(sqlite_rt)  # e.g. the web app's lifespan asking as well
    try:
        assert handle.running and shared.running
        deadline = time.monotonic() + 20
        while len(all_alerts(sqlite_rt)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        # The first round ran at start: the overdue clock, and its unit left unattended.
        assert sorted(a.kind for a in all_alerts(sqlite_rt)) == ["overdue", "unattended"]
        shared.shutdown()
        assert handle.running  # still used by the first caller
    finally:
        handle.shutdown()
        handle.shutdown()  # idempotent
    assert not handle.running


def test_one_round_reports_each_part(sqlite_rt: Runtime) -> None:
    world = build_world(sqlite_rt)
    t0 = datetime(2026, 3, 10, 1, tzinfo=UTC)
    receive_at(world, diploma_application(), t0)
    report = run_jobs(sqlite_rt, now=t0 + timedelta(days=10))
    summary = report.summary()
    assert summary["sweep"]["alerts"] == {"overdue": 1}
    assert summary["unattended"] == ["office:CZ01"]
    assert summary["outbox"]["sent"] == 5  # 3 for the overdue, 2 supervisors for the unit
    assert summary["failures"] == []


@pytest.mark.postgres
def test_bench_deadlines_small(pg_schema: str) -> None:
    out = io.StringIO()
    results = run_deadlines_bench(
        postgres_url=PG_URL, sizes=(1_500, 6_000), due=300, batch=100, out=out
    )
    assert [r.alerts for r in results] == [300, 300]
    text = out.getvalue()
    # The claim reads the due rows through the partial index, whatever the open count
    # (a plain or a bitmap index scan, as the planner likes), and never the whole table.
    plans = text.split("claim query plan")[1:]
    assert len(plans) == 2
    assert all("Index Scan on ix_deadlines_next_alert" in p
               or "Index Scan using ix_deadlines_next_alert" in p for p in plans)  # fmt: skip
    assert "Seq Scan" not in text
    assert "sweep time 6,000 open ÷ 1,500 open" in text
