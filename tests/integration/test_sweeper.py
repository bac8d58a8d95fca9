"""The sweeper: warning, overdue and escalation alerts exactly once, catch-up after downtime,
per-deadline error isolation, and two sweeper processes on one PostgreSQL database."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from sqlalchemy import func, select

from tongban.benchmarks.deadlines import NOW as SEEDED_NOW
from tongban.benchmarks.seeding import seed_deadlines
from tongban.models import Alert, AuditEvent, Deadline, OutboxMessage
from tongban.services.audit.chain import verify_chains
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines import sweeper as sweeper_module
from tongban.services.deadlines.sweeper import sweep
from tongban.workflow.commands import Forward, PassFormalReview, VerifyIdentity

from ..conftest import T0
from ..deadline_support import (
    all_alerts,
    deadlines_of,
    do,
    open_deadline,
    receive_at,
    sh,
    system_events,
)
from ..sweeper_proc import run_sweep
from ..world import World, build_world, card_application, diploma_application


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def kinds(rt: Runtime) -> list[tuple[str, int]]:
    return [(a.kind, a.level) for a in all_alerts(rt)]


def test_warning_then_overdue_then_escalations_each_once(world: World) -> None:
    rt = world.rt
    no = receive_at(world, diploma_application(), T0)  # Tue 2026-03-10 09:00, 1 working day
    deadline = open_deadline(rt, no)
    # The one day is Wednesday: the warning at two thirds of it, due at its 24:00.
    assert (deadline.warn_at, deadline.due_at) == (sh(2026, 3, 11, 16), sh(2026, 3, 12, 0))
    assert deadline.next_alert_at == deadline.warn_at

    assert sweep(rt.uow(), now=sh(2026, 3, 11, 15, 59)).recorded == 0
    assert sweep(rt.uow(), now=sh(2026, 3, 11, 16)).alerts == {"warning": 1}
    assert sweep(rt.uow(), now=sh(2026, 3, 11, 16)).claimed == 0  # nothing more until due
    assert sweep(rt.uow(), now=sh(2026, 3, 12, 0)).alerts == {"overdue": 1}
    # Escalation every 2 working days after the due instant: after Thu and Fri (Sat 00:00),
    # then after Mon and Tue (Wed 00:00).
    assert sweep(rt.uow(), now=sh(2026, 3, 13, 23, 59)).recorded == 0
    assert sweep(rt.uow(), now=sh(2026, 3, 14, 0)).alerts == {"escalation": 1}
    assert sweep(rt.uow(), now=sh(2026, 3, 17, 23)).recorded == 0
    assert sweep(rt.uow(), now=sh(2026, 3, 18, 0)).alerts == {"escalation": 1}
    assert kinds(rt) == [("warning", 0), ("overdue", 0), ("escalation", 1), ("escalation", 2)]

    alerts = all_alerts(rt)
    assert alerts[0].recipients == ["office:CZ01"]
    assert alerts[1].recipients == ["office:CZ01", "user:supervisor.ah", "user:supervisor.cz"]
    assert alerts[1].stage == "forward" and alerts[1].owner_side == "window"
    deadline = open_deadline(rt, no)
    assert deadline.alert_level == 4
    assert deadline.next_alert_at == sh(2026, 3, 20, 0)

    # Each alert is an audit event of the case, by the system, and the chain still verifies.
    events = system_events(rt, no)
    assert [e.action for e in events] == [
        "deadline_warning",
        "deadline_overdue",
        "deadline_escalation",
        "deadline_escalation",
    ]
    assert {e.actor_name for e in events} == {"system"}
    assert events[1].payload["recipients"] == alerts[1].recipients
    with rt.uow() as uow:
        outbox = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        uow.session.expunge_all()
    assert verify_chains(rt.uow()) == []
    assert len(outbox) == 1 + 3 + 3 + 3
    assert {m.status for m in outbox} == {"pending"}
    assert outbox[0].subject.startswith("【预警】" + no)
    assert "收件推送" in outbox[0].subject and "到期时间 2026-03-11 24:00" in outbox[0].body


def test_closing_a_stage_in_time_stops_its_alerts(world: World) -> None:
    rt = world.rt
    app = card_application()
    no = receive_at(world, app, T0, clerk="clerk.gc")
    do(world, PassFormalReview, "clerk.gc", no, sh(2026, 3, 10, 10))
    do(world, VerifyIdentity, "clerk.gc", no, sh(2026, 3, 10, 11),
       document_number=app.applicant_id_number)  # fmt: skip
    do(world, Forward, "clerk.gc", no, sh(2026, 3, 10, 12))
    # The forward deadline closed in time; the accept deadline (2 days, Wed and Thu, home side)
    # warns at two thirds, 32 working hours into Wednesday: Thu 08:00.
    assert sweep(rt.uow(), now=sh(2026, 3, 12, 7, 59)).recorded == 0
    assert sweep(rt.uow(), now=sh(2026, 3, 12, 8)).alerts == {"warning": 1}
    (alert,) = all_alerts(rt)
    assert (alert.stage, alert.owner_side, alert.recipients) == (
        "accept",
        "home",
        ["department:RS320102"],
    )
    # No supervisor covers Nanjing (320102) in the demo, but the case was received in 池州
    # (GC01, 341702): the supervisors of the receiving region learn the home side is late.
    assert sweep(rt.uow(), now=sh(2026, 3, 13, 12)).alerts == {"overdue": 1}
    assert all_alerts(rt)[-1].recipients == [
        "department:RS320102",
        "user:supervisor.ah",
        "user:supervisor.cz",
    ]
    assert [d.stage for d in deadlines_of(rt, no) if d.alert_level] == ["accept"]


def test_an_overdue_nobody_supervises_goes_to_the_admin(world: World) -> None:
    """Received in 杭州 (HZ01), handled in Nanjing: no demo supervisor covers either."""
    rt = world.rt
    app = card_application("789")
    no = receive_at(world, app, T0, clerk="clerk.hz")
    do(world, PassFormalReview, "clerk.hz", no, sh(2026, 3, 10, 10))
    do(world, VerifyIdentity, "clerk.hz", no, sh(2026, 3, 10, 11),
       document_number=app.applicant_id_number)  # fmt: skip
    do(world, Forward, "clerk.hz", no, sh(2026, 3, 10, 12))
    assert sweep(rt.uow(), now=sh(2026, 3, 13, 12)).alerts == {"overdue": 1}
    assert all_alerts(rt)[-1].recipients == ["department:RS320102", "admin"]


def test_after_downtime_each_deadline_is_caught_up_once(world: World) -> None:
    rt = world.rt
    a = receive_at(world, diploma_application("101"), sh(2026, 3, 10, 9))  # due Wed 11 24:00
    b = receive_at(world, diploma_application("102"), sh(2026, 3, 11, 10))  # due Thu 12 24:00
    cc = receive_at(world, diploma_application("103"), sh(2026, 3, 16, 16))  # warn Tue 17 16:00
    d = receive_at(world, diploma_application("104"), sh(2026, 3, 17, 8))  # warn Wed 18 16:00
    # No sweeper ran for a week. The first sweep sends one alert per deadline that came due:
    # the most severe owed (overdue, not a stale warning; not a burst of escalations).
    first = sweep(rt.uow(), now=sh(2026, 3, 17, 17))
    assert (first.claimed, first.recorded, first.errors) == (3, 3, 0)
    by_case = Counter(e.payload["deadline_id"] for e in system_events(rt))
    assert sorted(by_case.values()) == [1, 1, 1]
    assert [(e.action) for e in system_events(rt, a)] == ["deadline_overdue"]
    assert [(e.action) for e in system_events(rt, b)] == ["deadline_overdue"]
    assert [(e.action) for e in system_events(rt, cc)] == ["deadline_warning"]
    assert system_events(rt, d) == []
    # A was 3.7 working days late: level 2 + 1 escalation period, the missed ones skipped.
    assert open_deadline(rt, a).alert_level == 3
    assert all_alerts(rt)[0].details["skipped_levels"] == 2
    # Sweeping again, or a second sweeper catching up too, finds nothing more.
    assert sweep(rt.uow(), now=sh(2026, 3, 17, 17)).claimed == 0
    # A's next escalation is the second period: Thu 12 00:00 + 4 working days = Wed 18 00:00.
    assert open_deadline(rt, a).next_alert_at == sh(2026, 3, 18, 0)
    later = sweep(rt.uow(), now=sh(2026, 3, 19, 0))
    # A and B escalate; C and D (due at the end of Tue 17 and Wed 18) are overdue by now.
    assert later.alerts == {"escalation": 2, "overdue": 2}
    assert [(x.kind, x.level) for x in all_alerts(rt) if x.case_id == all_alerts(rt)[0].case_id][
        -1
    ] == ("escalation", 2)


def _three_overdue_cases(world: World) -> list[int]:
    for seq in ("201", "202", "203"):
        receive_at(world, diploma_application(seq), T0)
    with world.rt.uow() as uow:
        return list(uow.session.scalars(select(Deadline.id).order_by(Deadline.id)))


def test_one_bad_deadline_never_stops_the_batch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = world.rt
    ids = _three_overdue_cases(world)
    bad = ids[1]
    real_plan = sweeper_module._plan

    def flaky(deadline: Deadline, *args: object, **kw: object) -> object:
        if deadline.id == bad:
            raise RuntimeError("corrupt guide for this case")
        return real_plan(deadline, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sweeper_module, "_plan", flaky)
    with structlog.testing.capture_logs() as logs:
        report = sweep(rt.uow(), now=T0 + timedelta(days=7))
    assert (report.recorded, report.errors) == (2, 1)
    failed = [e for e in logs if e["event"] == "sweep.deadline_failed"]
    assert [e["deadline_id"] for e in failed] == [bad]
    with rt.uow() as uow:
        deadline = uow.session.get_one(Deadline, bad)
        assert (deadline.alert_level, deadline.next_alert_at) == (0, deadline.warn_at)
    # Fixed: the next sweep picks it up, once.
    monkeypatch.setattr(sweeper_module, "_plan", real_plan)
    assert sweep(rt.uow(), now=T0 + timedelta(days=7)).alerts == {"overdue": 1}
    assert sorted(a.deadline_id for a in all_alerts(rt)) == ids


def test_the_alerts_unique_constraint_is_the_last_line_of_defence(world: World) -> None:
    rt = world.rt
    ids = _three_overdue_cases(world)
    with rt.uow() as uow:
        # As if another sweeper recorded this alert without moving the deadline's marker.
        deadline = uow.session.get_one(Deadline, ids[0])
        uow.session.add(
            Alert(kind="overdue", level=0, deadline_id=deadline.id, case_id=deadline.case_id,
                  recipients=[], details={}, created_at=T0)
        )  # fmt: skip
        uow.commit()
    with structlog.testing.capture_logs() as logs:
        report = sweep(rt.uow(), now=T0 + timedelta(days=2))
    assert (report.recorded, report.errors) == (2, 1)
    assert any(e["event"] == "sweep.batch_failed" for e in logs)
    assert Counter(a.deadline_id for a in all_alerts(rt)) == {ids[0]: 1, ids[1]: 1, ids[2]: 1}
    assert verify_chains(rt.uow()) == []
    with rt.uow() as uow:
        events = uow.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.actor_id.is_(None))
        )
    assert events == 2  # no audit event for the refused duplicate


# --- several sweepers on one PostgreSQL ------------------------------------------------------


@pytest.mark.postgres
def test_two_sweeper_processes_record_every_alert_exactly_once(pg_rt: Runtime) -> None:
    due = 3000
    seed_deadlines(pg_rt, open_deadlines=due + 500, due=due, now=SEEDED_NOW)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    args = (
        pg_rt.settings.database_url,
        pg_rt.key.secret.hex(),
        SEEDED_NOW.isoformat(),
        25,
        barrier,
        out,
    )
    procs = [ctx.Process(target=run_sweep, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    reports = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    recorded = [sum(r["alerts"].values()) for r in reports]
    # Both really swept (the barrier started them together) and split the work.
    assert all(n > 0 for n in recorded), reports
    assert sum(recorded) == due
    assert sum(r["errors"] for r in reports) == 0
    with pg_rt.uow() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Alert)) == due
        assert s.scalar(select(func.count(func.distinct(Alert.deadline_id)))) == due
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.actor_id.is_(None))
            )
            == due
        )
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.alert_id)))) == due
        assert s.scalar(select(func.count()).where(Deadline.next_alert_at <= SEEDED_NOW)) == 0
    assert verify_chains(pg_rt.uow()) == []


@pytest.mark.postgres
def test_two_worker_commands_sweep_notify_and_detect_once(pg_rt: Runtime) -> None:
    due = 600
    seed_deadlines(pg_rt, open_deadlines=due + 100, due=due, now=SEEDED_NOW)
    env = {
        **os.environ,
        "TONGBAN_DATABASE_URL": pg_rt.settings.database_url,
        "TONGBAN_AUDIT_KEY": pg_rt.key.secret.hex(),
        "TONGBAN_LOG_LEVEL": "WARNING",
        "TONGBAN_UNATTENDED_DAYS": "1",
    }
    exe = Path(sys.executable).parent / "tongban"
    cmd = [str(exe), "worker", "--once", "--now", SEEDED_NOW.isoformat(), "--batch", "20"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, stderr) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, stderr
    summaries = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    assert sum(sum(s["sweep"]["alerts"].values()) for s in summaries) == due
    with pg_rt.uow() as uow:
        s = uow.session
        per_deadline = s.execute(
            select(Alert.deadline_id, func.count()).where(Alert.deadline_id.is_not(None))
            .group_by(Alert.deadline_id)
        ).all()  # fmt: skip
        assert len(per_deadline) == due and {n for _, n in per_deadline} == {1}
        # Every unit with waiting cases and nobody around for a working day: alerted once.
        units = s.execute(
            select(Alert.unit_key, func.count()).where(Alert.kind == "unattended")
            .group_by(Alert.unit_key)
        ).all()  # fmt: skip
        assert units and {n for _, n in units} == {1}
        # Every outbox message went out once, in one of the two processes.
        sent = s.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
        assert sent and set(sent) == {("sent", 1)}
