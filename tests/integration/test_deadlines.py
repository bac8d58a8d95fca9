"""Stage deadlines through the services: supplement pause/resume, the configurable warning
share, the uncertain calendar past the package's data, and the admin calendar import."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
import structlog
from alembic import command
from sqlalchemy import select

from tongban.models import Deadline
from tongban.models.db import alembic_config, upgrade
from tongban.services.calendar import store as calendar_store
from tongban.services.calendar.files import read_calendar_file
from tongban.services.calendar.store import calendar_for, import_calendar
from tongban.services.cases.queries import case_detail
from tongban.services.core.config import Settings
from tongban.services.core.runtime import Runtime, open_runtime
from tongban.services.deadlines.alerts import deadline_alert, used_seconds_at
from tongban.services.deadlines.sweeper import sweep
from tongban.workflow.calendar import SECONDS_PER_DAY, day_after, period_due, warning_instant
from tongban.workflow.commands import (
    Accept,
    Forward,
    MaterialIn,
    PassFormalReview,
    RequestSupplement,
    Supplement,
    VerifyIdentity,
)

from ..conftest import T0
from ..deadline_support import (
    all_alerts,
    calendar_of,
    deadlines_of,
    do,
    open_deadline,
    receive_at,
    sh,
)
from ..world import World, build_world, card_application, diploma_application

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def test_supplement_pause_keeps_the_remaining_days_exactly(world: World) -> None:
    rt = world.rt
    no = receive_at(world, diploma_application(), T0)  # Tue 2026-03-10 09:00
    deadline = open_deadline(rt, no)
    assert deadline.limit_seconds == SECONDS_PER_DAY
    # The day of receipt does not count: one working day is Wednesday, due at its 24:00.
    assert deadline.due_at == sh(2026, 3, 12, 0)
    # The clerk asks for a supplement the same afternoon: no day of the period has run.
    do(world, RequestSupplement, "clerk.cz", no, sh(2026, 3, 10, 14), notice_items=["学历证书"])
    paused = open_deadline(rt, no)
    assert (paused.status, paused.used_seconds) == ("paused", 0)
    assert (paused.due_at, paused.warn_at, paused.next_alert_at) == (None, None, None)
    # While paused, the original due instant passes without any alert.
    assert sweep(rt.uow(), now=sh(2026, 3, 12, 12)).recorded == 0
    # The applicant supplements on Friday 16:30: the day of the supplement does not count,
    # the weekend is not working time, so the one day left is Monday, due at its 24:00.
    resumed_at = sh(2026, 3, 13, 16, 30)
    do(world, Supplement, "clerk.cz", no, resumed_at, materials=[MaterialIn("diploma")])
    deadline = open_deadline(rt, no)
    assert deadline.status == "running"
    assert deadline.used_seconds == 0
    assert deadline.due_at == sh(2026, 3, 17, 0)
    cal = calendar_of(rt)
    assert deadline.due_at == period_due(cal, resumed_at, 1).instant
    # Two thirds of Monday: the warning falls at 16:00.
    assert deadline.warn_at == sh(2026, 3, 16, 16)
    assert used_seconds_at(deadline, resumed_at, cal) == 0
    assert deadline_alert(deadline, resumed_at) is None
    # On Monday the whole day counts as used, and at its 24:00 the period is over.
    assert used_seconds_at(deadline, sh(2026, 3, 16, 9), cal) == SECONDS_PER_DAY
    assert deadline_alert(deadline, deadline.due_at) == "overdue"


def test_a_pause_on_a_later_day_banks_that_day(world: World) -> None:
    rt = world.rt
    no = receive_at(world, card_application(), T0, clerk="clerk.gc")  # Tue 09:00
    # The forward stage has 1 working day (Wednesday); the notice goes out Wednesday 17:00,
    # so Wednesday is used, and after the supplement on Thursday the end of Thursday is due.
    do(world, RequestSupplement, "clerk.gc", no, sh(2026, 3, 11, 17), notice_items=["照片"])
    assert open_deadline(rt, no).used_seconds == SECONDS_PER_DAY
    do(world, Supplement, "clerk.gc", no, sh(2026, 3, 12, 10), materials=[MaterialIn("photo")])
    deadline = open_deadline(rt, no)
    assert deadline.due_at == sh(2026, 3, 13, 0)
    assert deadline.warn_at == sh(2026, 3, 13, 0)


def test_warning_share_comes_from_settings(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = world.rt
    # A process started with TONGBAN_WARNING_SHARE=0.5, on the same database.
    monkeypatch.setenv("TONGBAN_WARNING_SHARE", "0.5")
    settings = Settings(
        database_url=rt.settings.database_url,
        audit_key=rt.settings.audit_key,
        audit_key_file=rt.settings.audit_key_file,
    )
    assert settings.warning_share == 0.5
    half = open_runtime(settings)
    try:
        assert half.warning_share == Fraction(1, 2)
        no = receive_at(World(half, world.actors), diploma_application(), T0)
        deadline = open_deadline(rt, no)
        assert deadline.warn_at == sh(2026, 3, 11, 12)  # half of Wednesday, the one day
        assert deadline.next_alert_at == deadline.warn_at
        # The instant production scheduled is the one warning_instant gives for that share.
        assert (
            deadline.warn_at
            == warning_instant(
                calendar_of(rt), day_after(T0), deadline.limit_seconds, half.warning_share
            ).instant
        )
    finally:
        half.close()
    monkeypatch.setenv("TONGBAN_WARNING_SHARE", "1.5")
    with pytest.raises(ValueError):
        Settings(database_url=rt.settings.database_url, audit_key=rt.settings.audit_key)


def _to_decision(w: World, at_hour: int = 10) -> str:
    app = card_application()
    no = receive_at(w, app, sh(2026, 12, 20, at_hour), clerk="clerk.gc")  # a Sunday
    do(w, PassFormalReview, "clerk.gc", no, sh(2026, 12, 20, at_hour, 1))
    do(w, VerifyIdentity, "clerk.gc", no, sh(2026, 12, 20, at_hour, 2),
       document_number=app.applicant_id_number)  # fmt: skip
    do(w, Forward, "clerk.gc", no, sh(2026, 12, 20, at_hour, 3))
    do(w, Accept, "reviewer.rs", no, sh(2026, 12, 20, at_hour, 4))
    return no


def test_decision_past_the_known_calendar_is_uncertain_until_2027_is_imported(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = world.rt
    other = open_runtime(rt.settings)  # another process on the same database
    try:
        with other.uow() as uow:
            assert not calendar_for(uow).is_known(date(2027, 1, 1))
        with structlog.testing.capture_logs() as logs:
            no = _to_decision(world)
        decide = open_deadline(rt, no)
        assert (decide.stage, decide.limit_seconds) == ("decide", 20 * SECONDS_PER_DAY)
        # Dec 21-31 give 9 working days; the rest is guessed Monday to Friday: Jan 1, 4-8,
        # 11-15. The deadline says so, and so does the log.
        assert decide.due_at == sh(2027, 1, 16)
        assert decide.warn_at == sh(2027, 1, 7, 8)
        assert decide.uncertain
        fallback = [e for e in logs if e["event"] == "calendar.fallback"]
        assert fallback and fallback[0]["log_level"] == "warning"
        assert fallback[0]["unknown_dates"][0] == "2027-01-01"
        # What people read of the case on Dec 21 says the deadline is uncertain.
        detail = case_detail(
            rt.uow(), actor=world.actors["reviewer.rs"], case_no=no, now=sh(2026, 12, 21)
        )
        (shown,) = [d for d in detail.deadlines if d.status == "running"]
        assert (shown.stage, shown.due_at, shown.uncertain) == ("decide", decide.due_at, True)

        report = import_calendar(
            rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=sh(2026, 12, 22)
        )
        assert (report.year, report.holidays, report.workdays) == (2027, 10, 1)
        assert report.deadlines_rescheduled == 1 and not report.replaced
        decide = open_deadline(rt, no)
        # 元旦 is a holiday: the 20th working day becomes Monday Jan 18.
        assert decide.due_at == sh(2027, 1, 19)
        assert decide.warn_at == sh(2027, 1, 8, 8)
        assert not decide.uncertain
        assert decide.next_alert_at == decide.warn_at
        assert decide.resumed_at == sh(2026, 12, 20, 10, 4)
        # The other process sees the import at its next version check.
        monkeypatch.setattr(calendar_store, "RECHECK_SECONDS", 0.0)
        with other.uow() as uow:
            assert calendar_for(uow).is_known(date(2027, 1, 1))
        # A new case now computes on the imported calendar straight away.
        no2 = _to_decision(world, at_hour=11)
        assert open_deadline(rt, no2).due_at == sh(2027, 1, 19)
        assert not open_deadline(rt, no2).uncertain
        # Importing again replaces the year and says so.
        again = import_calendar(
            rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=sh(2026, 12, 23)
        )
        assert again.replaced and again.deadlines_rescheduled == 2
    finally:
        other.close()


def test_a_deadline_computed_on_a_stale_copy_is_put_right_by_the_sweeper(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = world.rt
    monkeypatch.setattr(calendar_store, "RECHECK_SECONDS", 3600.0)
    other = open_runtime(rt.settings)  # a server process with the calendar cached
    try:
        with other.uow() as uow:
            assert not calendar_for(uow).is_known(date(2027, 1, 1))
        imported_at = sh(2026, 12, 20, 9)
        import_calendar(rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=imported_at)
        # Within the recheck interval the server still computes on its older copy.
        stale = _to_decision(World(other, world.actors))
        assert open_deadline(rt, stale).uncertain
        assert open_deadline(rt, stale).due_at == sh(2027, 1, 16)
        # The sweeper waits until no process can hold the old copy, then recomputes.
        assert sweep(rt.uow(), now=imported_at + timedelta(minutes=30)).rescheduled == 0
        assert open_deadline(rt, stale).uncertain
        report = sweep(rt.uow(), now=imported_at + timedelta(hours=2, minutes=1))
        assert report.rescheduled == 1
        fixed = open_deadline(rt, stale)
        assert (fixed.due_at, fixed.uncertain) == (sh(2027, 1, 19), False)
        # Once reconciled, later sweeps do not recompute again.
        assert sweep(rt.uow(), now=imported_at + timedelta(hours=3)).rescheduled == 0
    finally:
        other.close()


def test_import_leaves_deadlines_outside_the_year_alone(world: World) -> None:
    no = receive_at(world, diploma_application(), T0)
    before = open_deadline(world.rt, no)
    report = import_calendar(
        world.rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=T0
    )
    assert report.deadlines_rescheduled == 0
    after = open_deadline(world.rt, no)
    assert (after.due_at, after.warn_at) == (before.due_at, before.warn_at)


def test_upgrade_gives_existing_running_deadlines_their_next_alert(world: World) -> None:
    rt = world.rt
    no = receive_at(world, diploma_application(), T0)
    do(world, RequestSupplement, "clerk.cz", no, T0 + timedelta(hours=1), notice_items=["x"])
    other = receive_at(world, card_application(), T0, clerk="clerk.gc")
    command.downgrade(alembic_config(rt.engine), "0001")
    upgrade(rt.engine)
    with rt.uow() as uow:
        rows = {d.case_id: d for d in uow.session.scalars(select(Deadline).order_by(Deadline.id))}
    running = open_deadline(rt, other)
    assert running.alert_level == 0 and running.next_alert_at == running.warn_at
    paused = deadlines_of(rt, no)[0]
    assert paused.status == "paused" and paused.next_alert_at is None
    assert len(rows) == 2
    # And the first sweep catches it up: the running forward clock, and the applicant's
    # 补正期限 of the other case (which only the window hears of).
    assert sweep(rt.uow(), now=T0 + timedelta(days=30)).alerts == {"overdue": 2}
    assert sorted((a.kind, a.stage) for a in all_alerts(rt)) == [
        ("overdue", "forward"),
        ("overdue", "supplement"),
    ]
