"""Stage clocks in the database: open, pause, resume and close deadline rows as a case moves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import Case, Deadline
from tongban.workflow.calendar import (
    SECONDS_PER_DAY,
    Reckoning,
    WorkCalendar,
    add_working_seconds,
    working_seconds_between,
)
from tongban.workflow.guide import GuideConfig
from tongban.workflow.stages import STAGE_OWNER, ClockOp, Stage
from tongban.workflow.states import Side

from .config import get_settings

log = structlog.get_logger("tongban.clocks")

# Snapping the configured float (e.g. 0.6666666666666666) to a small fraction makes the
# warning land on the second a person computes by hand (two thirds of a day is 16:00 sharp).
_FRACTION_MAX_DENOMINATOR = 1_000_000


def warning_share() -> Fraction:
    """The share of a stage's time after which it warns (TONGBAN_WARNING_SHARE, default 2/3)."""
    return Fraction(get_settings().warning_share).limit_denominator(_FRACTION_MAX_DENOMINATOR)


def first_alert_at(clock: Deadline) -> datetime | None:
    """When the sweeper must next look at a running clock, given the alerts already sent.

    Escalations after the overdue alert are scheduled by the sweeper itself (it knows the
    escalation period); here a clock that was already overdue is looked at again at its
    (new) due instant, where the sweeper decides whether anything more is owed.
    """
    if clock.status != "running":
        return None
    return clock.warn_at if clock.alert_level == 0 else clock.due_at


def _warn_uncertain(clock: Deadline, reckoning: Reckoning) -> None:
    if reckoning.uncertain:
        log.warning(
            "calendar.fallback",
            case_id=clock.case_id,
            stage=clock.stage,
            due_at=clock.due_at.isoformat() if clock.due_at else None,
            unknown_dates=[d.isoformat() for d in reckoning.uncertain_dates],
            hint="日历未确认：请用 `tongban calendar import` 导入该年度节假日安排",
        )


def _schedule(clock: Deadline, cal: WorkCalendar, now: datetime) -> None:
    """Set due and warning instants for a clock running from `now` with its banked time."""
    due = add_working_seconds(cal, now, max(clock.limit_seconds - clock.used_seconds, 0))
    threshold = math.ceil(warning_share() * clock.limit_seconds)
    warn = add_working_seconds(cal, now, max(threshold - clock.used_seconds, 0))
    clock.resumed_at = now
    clock.due_at = due.instant
    clock.warn_at = warn.instant
    clock.uncertain = due.uncertain or warn.uncertain
    clock.next_alert_at = first_alert_at(clock)
    _warn_uncertain(clock, due)


def _open(
    case: Case, stage: Stage, config: GuideConfig, cal: WorkCalendar, now: datetime
) -> Deadline:
    side = STAGE_OWNER[stage]
    clock = Deadline(
        case_id=case.id,
        stage=stage.value,
        owner_side=side.value,
        office_id=case.office_id if side is Side.WINDOW else None,
        department_id=case.department_id if side is Side.HOME else None,
        status="running",
        limit_seconds=config.limit_days(stage) * SECONDS_PER_DAY,
        used_seconds=0,
        started_at=now,
        resumed_at=now,
        alert_level=0,
    )
    _schedule(clock, cal, now)
    return clock


def _bank(clock: Deadline, cal: WorkCalendar, now: datetime) -> None:
    if clock.status == "running":
        clock.used_seconds += working_seconds_between(cal, clock.resumed_at, now).seconds


def apply_clock_ops(
    session: Session,
    case: Case,
    ops: Sequence[ClockOp],
    *,
    config: GuideConfig,
    cal: WorkCalendar,
    now: datetime,
) -> None:
    if not ops:
        return
    open_clocks = {
        c.stage: c
        for c in session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.status != "closed")
        )
    }
    for op in ops:
        clock = open_clocks.get(op.stage.value)
        if op.kind == "open":
            session.add(_open(case, op.stage, config, cal, now))
        elif clock is None:
            continue  # a clock opened before this deployment tracked it: nothing to move
        elif op.kind == "close":
            _bank(clock, cal, now)
            clock.status, clock.closed_at, clock.next_alert_at = "closed", now, None
        elif op.kind == "pause":
            # 补正期间不计时: bank the time used; the rest resumes when the applicant supplements.
            _bank(clock, cal, now)
            clock.status, clock.due_at, clock.warn_at = "paused", None, None
            clock.next_alert_at = None
        elif op.kind == "resume":
            clock.status = "running"
            _schedule(clock, cal, now)


def reschedule_running(
    session: Session, cal: WorkCalendar, *, start: datetime, end: datetime
) -> int:
    """Recompute running clocks whose current stretch overlaps [start, end) with `cal`.

    Called when an administrator imports a year: a clock computed on the weekends-only
    guess gets its real due instant and stops being uncertain. The banked time and the
    start of the running stretch are kept, so the result is what the clock would have
    said had the calendar been known from the start.
    """
    clocks = session.scalars(
        select(Deadline)
        .where(
            Deadline.status == "running",
            Deadline.due_at >= start,
            Deadline.resumed_at < end,
        )
        .order_by(Deadline.id)
        .with_for_update()
    ).all()
    for clock in clocks:
        _schedule(clock, cal, clock.resumed_at)
    return len(clocks)
