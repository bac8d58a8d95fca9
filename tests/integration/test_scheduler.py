"""The sweeper on a timer (APScheduler as a trigger only), and the deadlines benchmark."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from tongban.benchmarks.deadlines import run_deadlines_bench
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines.scheduler import run_jobs, start_sweeper

from ..conftest import PG_URL, T0
from ..deadline_support import all_alerts, receive_at
from ..world import build_world, diploma_application


def test_in_process_sweeper_runs_at_once_and_stops(sqlite_rt: Runtime) -> None:
    world = build_world(sqlite_rt)
    receive_at(world, diploma_application(), T0)
    now = T0 + timedelta(days=30)  # the sweeper's clock: a fixed instant, no wall clock
    handle = start_sweeper(sqlite_rt, interval_seconds=3600, clock=lambda: now)
    shared = start_sweeper(sqlite_rt)  # e.g. the web app's lifespan asking as well
    try:
        # One sweeper per runtime: the second caller gets the running one.
        assert shared is handle and sqlite_rt.sweeper is handle
        assert handle.running
        # The first round runs at start (the interval is an hour, so it is the only one).
        assert handle.wait_for_rounds(1, timeout=60)
        # The overdue deadline, and its unit left unattended.
        alerts = all_alerts(sqlite_rt)
        assert sorted(a.kind for a in alerts) == ["overdue", "unattended"]
        assert {a.created_at for a in alerts} == {now}  # swept at the injected instant
        assert handle.last is not None
        assert handle.last.summary()["failures"] == []
        assert handle.last.summary()["sweep"]["alerts"] == {"overdue": 1}
        assert handle.running  # still running after its round
    finally:
        handle.shutdown()
        shared.shutdown()  # idempotent (the same sweeper)
    assert not handle.running


def test_one_round_reports_each_part(sqlite_rt: Runtime) -> None:
    world = build_world(sqlite_rt)
    t0 = datetime(2026, 3, 10, 1, tzinfo=UTC)
    receive_at(world, diploma_application(), t0)
    report = run_jobs(sqlite_rt.uow(), now=t0 + timedelta(days=10))
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
    assert "== 1,500 open deadlines, 300 due ==" in text
    assert "== 6,000 open deadlines, 300 due ==" in text
    # The claim reads the due rows through the partial index, whatever the open count
    # (a plain or a bitmap index scan, as the planner likes), and never the whole table.
    plans = text.split("claim query plan")[1:]
    assert len(plans) == 2
    assert all("Index Scan on ix_deadlines_next_alert" in p
               or "Index Scan using ix_deadlines_next_alert" in p for p in plans)  # fmt: skip
    assert "Seq Scan" not in text
    assert "sweep time 6,000 open ÷ 1,500 open" in text
