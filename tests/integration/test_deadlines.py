"""Stage clocks through the services: supplement pause/resume, the configurable warning
share, the uncertain calendar past the package's data, and the admin calendar import."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import structlog
from alembic import command
from sqlalchemy import select

from tongban.models import Deadline
from tongban.models.db import alembic_config, upgrade
from tongban.services import calendars
from tongban.services import cases as c
from tongban.services.calendars import calendar_for, import_calendar, read_calendar_file
from tongban.services.config import get_settings
from tongban.services.deadlines import clock_status
from tongban.services.runtime import Runtime, open_runtime
from tongban.services.sweeper import sweep
from tongban.workflow.calendar import SECONDS_PER_DAY, add_working_seconds

from ..conftest import T0
from ..deadline_support import (
    all_alerts,
    calendar_of,
    clocks_of,
    do,
    receive_at,
    running_clock,
    sh,
)
from ..world import World, build_world, card_application, diploma_application

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_supplement_pause_keeps_the_remaining_time_exactly(world: World) -> None:
    rt = world.rt
    no = receive_at(world, diploma_application(), T0)  # Tue 2026-03-10 09:00
    clock = running_clock(rt, no)
    assert clock.limit_seconds == SECONDS_PER_DAY
    assert clock.due_at == sh(2026, 3, 11, 9)
    # 5 working hours later the clerk asks for a supplement: the clock stops.
    do(world, c.request_supplement, "clerk.cz", no, sh(2026, 3, 10, 14), notice_items=["学历证书"])
    paused = running_clock(rt, no)
    assert (paused.status, paused.used_seconds) == ("paused", 5 * 3600)
    assert (paused.due_at, paused.warn_at, paused.next_alert_at) == (None, None, None)
    # While paused, the original due instant passes without any alert.
    assert sweep(rt, now=sh(2026, 3, 12, 12)).recorded == 0
    # The applicant supplements on Friday 16:30: 19 working hours remain, 7.5 on Friday and
    # 11.5 on Monday, so the new due instant is Monday 11:30.
    resumed_at = sh(2026, 3, 13, 16, 30)
    do(world, c.record_supplement, "clerk.cz", no, resumed_at, materials=[c.MaterialIn("diploma")])
    clock = running_clock(rt, no)
    assert clock.status == "running"
    assert clock.used_seconds == 5 * 3600
    assert clock.due_at == sh(2026, 3, 16, 11, 30)
    cal = calendar_of(rt)
    assert clock.due_at == add_working_seconds(cal, resumed_at, 19 * 3600).instant
    # Two thirds of a day is 16 h; 5 were used, so the warning comes 11 h after resuming.
    assert clock.warn_at == sh(2026, 3, 16, 3, 30)
    status = clock_status(clock, resumed_at, cal)
    assert (status.remaining_seconds, status.alert) == (19 * 3600, None)
    # Used before plus used after is exactly the limit at the due instant.
    assert clock_status(clock, clock.due_at, cal).used_seconds == SECONDS_PER_DAY
    assert clock_status(clock, clock.due_at, cal).alert == "overdue"


def WorkCalendarFor(rt: Runtime):  # type: ignore[no-untyped-def]
    with rt.uow() as uow:
        return calendar_for(uow.session)


def test_warning_share_comes_from_settings(
    world: World, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("TONGBAN_WARNING_SHARE", "0.5")
    get_settings.cache_clear()
    no = receive_at(world, diploma_application(), T0)
    clock = running_clock(world.rt, no)
    assert clock.warn_at == sh(2026, 3, 10, 21)  # half a working day after 09:00
    assert clock.next_alert_at == clock.warn_at
    monkeypatch.setenv("TONGBAN_WARNING_SHARE", "1.5")
    get_settings.cache_clear()
    with pytest.raises(ValueError):
        get_settings()


def _to_decision(w: World, at_hour: int = 10) -> str:
    app = card_application()
    no = receive_at(w, app, sh(2026, 12, 20, at_hour), clerk="clerk.gc")  # a Sunday
    do(w, c.pass_formal_review, "clerk.gc", no, sh(2026, 12, 20, at_hour, 1))
    do(w, c.verify_identity, "clerk.gc", no, sh(2026, 12, 20, at_hour, 2),
       document_number=app.applicant_id_number)  # fmt: skip
    do(w, c.forward, "clerk.gc", no, sh(2026, 12, 20, at_hour, 3))
    do(w, c.accept, "reviewer.rs", no, sh(2026, 12, 20, at_hour, 4))
    return no


def test_decision_past_the_known_calendar_is_uncertain_until_2027_is_imported(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = world.rt
    other = open_runtime(rt.settings)  # another process on the same database
    try:
        with other.uow() as uow:
            assert not calendar_for(uow.session).is_known(date(2027, 1, 1))
        with structlog.testing.capture_logs() as logs:
            no = _to_decision(world)
        decide = running_clock(rt, no)
        assert (decide.stage, decide.limit_seconds) == ("decide", 20 * SECONDS_PER_DAY)
        # Dec 21-31 give 9 working days; the rest is guessed Monday to Friday: Jan 1, 4-8,
        # 11-15. The deadline says so, and so does the log.
        assert decide.due_at == sh(2027, 1, 16)
        assert decide.warn_at == sh(2027, 1, 7, 8)
        assert decide.uncertain
        fallback = [e for e in logs if e["event"] == "calendar.fallback"]
        assert fallback and fallback[0]["log_level"] == "warning"
        assert fallback[0]["unknown_dates"][0] == "2027-01-01"
        assert clock_status(decide, sh(2026, 12, 21), calendar_of(rt)).uncertain

        report = import_calendar(
            rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=sh(2026, 12, 22)
        )
        assert (report.year, report.holidays, report.workdays) == (2027, 10, 1)
        assert report.clocks_rescheduled == 1 and not report.replaced
        decide = running_clock(rt, no)
        # 元旦 is a holiday: the 20th working day becomes Monday Jan 18.
        assert decide.due_at == sh(2027, 1, 19)
        assert decide.warn_at == sh(2027, 1, 8, 8)
        assert not decide.uncertain
        assert decide.next_alert_at == decide.warn_at
        assert decide.resumed_at == sh(2026, 12, 20, 10, 4)
        # The other process sees the import at its next version check.
        monkeypatch.setattr(calendars, "RECHECK_SECONDS", 0.0)
        with other.uow() as uow:
            assert calendar_for(uow.session).is_known(date(2027, 1, 1))
        # A new case now computes on the imported calendar straight away.
        no2 = _to_decision(world, at_hour=11)
        assert running_clock(rt, no2).due_at == sh(2027, 1, 19)
        assert not running_clock(rt, no2).uncertain
        # Importing again replaces the year and says so.
        again = import_calendar(
            rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=sh(2026, 12, 23)
        )
        assert again.replaced and again.clocks_rescheduled == 2
    finally:
        other.engine.dispose()


def test_a_clock_computed_on_a_stale_copy_is_put_right_by_the_sweeper(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = world.rt
    monkeypatch.setattr(calendars, "RECHECK_SECONDS", 3600.0)
    other = open_runtime(rt.settings)  # a server process with the calendar cached
    try:
        with other.uow() as uow:
            assert not calendar_for(uow.session).is_known(date(2027, 1, 1))
        imported_at = sh(2026, 12, 20, 9)
        import_calendar(rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=imported_at)
        # Within the recheck interval the server still computes on its older copy.
        stale = _to_decision(World(other, world.actors))
        assert running_clock(rt, stale).uncertain
        assert running_clock(rt, stale).due_at == sh(2027, 1, 16)
        # The sweeper waits until no process can hold the old copy, then recomputes.
        assert sweep(rt, now=imported_at + timedelta(minutes=30)).rescheduled == 0
        assert running_clock(rt, stale).uncertain
        report = sweep(rt, now=imported_at + timedelta(hours=2, minutes=1))
        assert report.rescheduled == 1
        fixed = running_clock(rt, stale)
        assert (fixed.due_at, fixed.uncertain) == (sh(2027, 1, 19), False)
        # Once reconciled, later sweeps do not recompute again.
        assert sweep(rt, now=imported_at + timedelta(hours=3)).rescheduled == 0
    finally:
        other.engine.dispose()


def test_import_leaves_clocks_outside_the_year_alone(world: World) -> None:
    no = receive_at(world, diploma_application(), T0)
    before = running_clock(world.rt, no)
    report = import_calendar(
        world.rt.uow(), read_calendar_file(DATA / "calendar_2027.yaml"), now=T0
    )
    assert report.clocks_rescheduled == 0
    after = running_clock(world.rt, no)
    assert (after.due_at, after.warn_at) == (before.due_at, before.warn_at)


def test_upgrade_gives_existing_running_clocks_their_next_alert(world: World) -> None:
    rt = world.rt
    no = receive_at(world, diploma_application(), T0)
    do(world, c.request_supplement, "clerk.cz", no, T0 + timedelta(hours=1), notice_items=["x"])
    other = receive_at(world, card_application(), T0, clerk="clerk.gc")
    command.downgrade(alembic_config(rt.engine), "0001")
    upgrade(rt.engine)
    with rt.uow() as uow:
        rows = {d.case_id: d for d in uow.session.scalars(select(Deadline).order_by(Deadline.id))}
    running = running_clock(rt, other)
    assert running.alert_level == 0 and running.next_alert_at == running.warn_at
    paused = clocks_of(rt, no)[0]
    assert paused.status == "paused" and paused.next_alert_at is None
    assert len(rows) == 2
    # And the first sweep catches it up.
    assert sweep(rt, now=T0 + timedelta(days=30)).alerts == {"overdue": 1}
    assert [a.kind for a in all_alerts(rt)] == ["overdue"]
