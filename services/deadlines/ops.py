"""How an action moves a case's deadlines: the values a deadline row takes when its stage
opens, pauses (补正期间不计时), resumes or closes, and the recomputation of running ones after
a calendar import.

The arithmetic is workflow.deadlines'; this module turns it into row values, one function
per move, so the case write path and the ORM callers store exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import Deadline
from tongban.workflow.calendar import SECONDS_PER_DAY, WorkCalendar
from tongban.workflow.deadlines import DeadlineStatus, schedule, used_by
from tongban.workflow.stages import STAGE_OWNER, Stage
from tongban.workflow.states import Side

log = structlog.get_logger("tongban.deadlines")


@dataclass(frozen=True)
class Timing:
    """Where one deadline's time stands: the columns of its row that an action moves."""

    stage: Stage
    status: DeadlineStatus
    limit_seconds: int
    used_seconds: int  # banked at each pause and at the close
    resumed_at: datetime  # start of the current running stretch
    due_at: datetime | None  # None while paused
    warn_at: datetime | None
    uncertain: bool
    alert_level: int  # alerts sent so far, kept across pause and resume
    next_alert_at: datetime | None
    closed_at: datetime | None = None

    def values(self) -> dict[str, object]:
        """The moving columns, for an UPDATE of the row."""
        return {name: getattr(self, name) for name in MOVING}


# The columns of a deadline row that an action moves, and those a new row starts with.
MOVING = (
    "status", "used_seconds", "resumed_at", "due_at", "warn_at", "uncertain", "next_alert_at",
    "closed_at",
)  # fmt: skip
STARTING = (
    "stage", "owner_side", "office_id", "department_id", "limit_seconds", "started_at",
    "alert_level", *MOVING,
)  # fmt: skip


def first_alert_at(status: DeadlineStatus, alert_level: int, timing: Timing) -> datetime | None:
    """When the sweeper must next look at a deadline, given the alerts already sent.

    Escalations after the overdue alert are scheduled by the sweeper itself (it knows the
    escalation period); here a deadline already overdue is looked at again at its (new) due
    instant, where the sweeper decides whether anything more is owed.
    """
    if status is not DeadlineStatus.RUNNING:
        return None
    return timing.warn_at if alert_level == 0 else timing.due_at


def _running(timing: Timing, cal: WorkCalendar, now: datetime, share: Fraction) -> Timing:
    """`timing` running (again) from `now` with its banked time."""
    plan = schedule(
        cal, now, limit_seconds=timing.limit_seconds, used_seconds=timing.used_seconds,
        warning_share=share,
    )  # fmt: skip
    running = replace(
        timing,
        status=DeadlineStatus.RUNNING,
        resumed_at=now,
        due_at=plan.due.instant,
        warn_at=plan.warn.instant,
        uncertain=plan.uncertain,
    )
    if plan.due.uncertain:
        log.warning(
            "calendar.fallback",
            stage=timing.stage.value,
            due_at=plan.due.instant.isoformat(),
            unknown_dates=[d.isoformat() for d in plan.due.uncertain_dates],
            hint="日历未确认：请用 `tongban calendar import` 导入该年度节假日安排",
        )
    return replace(
        running, next_alert_at=first_alert_at(running.status, running.alert_level, running)
    )


def opened(
    stage: Stage, limit_seconds: int, cal: WorkCalendar, now: datetime, share: Fraction
) -> Timing:
    """A stage's deadline starting at `now`."""
    fresh = Timing(
        stage=stage,
        status=DeadlineStatus.RUNNING,
        limit_seconds=limit_seconds,
        used_seconds=0,
        resumed_at=now,
        due_at=None,
        warn_at=None,
        uncertain=False,
        alert_level=0,
        next_alert_at=None,
    )
    return _running(fresh, cal, now, share)


@dataclass(frozen=True)
class NewDeadline:
    """A stage's deadline as it starts: the whole row but its case."""

    timing: Timing
    owner_side: Side
    office_id: int | None  # the window's office, for window stages
    department_id: int | None  # the home department, for home stages
    started_at: datetime

    def values(self) -> dict[str, object]:
        t = self.timing
        return {
            "stage": t.stage,
            "owner_side": self.owner_side,
            "office_id": self.office_id,
            "department_id": self.department_id,
            "limit_seconds": t.limit_seconds,
            "started_at": self.started_at,
            "alert_level": t.alert_level,
            **t.values(),
        }


def starting(
    stage: Stage,
    *,
    office_id: int,
    department_id: int,
    limit_days: int,
    cal: WorkCalendar,
    now: datetime,
    share: Fraction,
) -> NewDeadline:
    """The deadline of `stage` for a case received at `office_id` and handled at
    `department_id`, starting at `now`; owned by the stage's side."""
    side = STAGE_OWNER[stage]
    return NewDeadline(
        timing=opened(stage, limit_days * SECONDS_PER_DAY, cal, now, share),
        owner_side=side,
        # A stage both sides watch (原件在途, 申请人补正期限) names both units.
        office_id=office_id if side is not Side.HOME else None,
        department_id=department_id if side is not Side.WINDOW else None,
        started_at=now,
    )


def _banked(timing: Timing, cal: WorkCalendar, now: datetime) -> int:
    if timing.status is not DeadlineStatus.RUNNING:
        return timing.used_seconds
    return timing.used_seconds + used_by(cal, timing.resumed_at, now)


def closed(timing: Timing, cal: WorkCalendar, now: datetime) -> Timing:
    """The stage is over: its time used is final; its due instant stays for the record."""
    return replace(
        timing,
        status=DeadlineStatus.CLOSED,
        used_seconds=_banked(timing, cal, now),
        closed_at=now,
        next_alert_at=None,
    )


def paused(timing: Timing, cal: WorkCalendar, now: datetime) -> Timing:
    """补正期间不计时: bank the time used; the rest resumes when the applicant supplements."""
    return replace(
        timing,
        status=DeadlineStatus.PAUSED,
        used_seconds=_banked(timing, cal, now),
        due_at=None,
        warn_at=None,
        next_alert_at=None,
    )


def resumed(timing: Timing, cal: WorkCalendar, now: datetime, share: Fraction) -> Timing:
    return _running(timing, cal, now, share)


def moved(timing: Timing, kind: str, cal: WorkCalendar, now: datetime, share: Fraction) -> Timing:
    """`timing` after a close, a pause or a resume at `now`."""
    if kind == "close":
        return closed(timing, cal, now)
    if kind == "pause":
        return paused(timing, cal, now)
    return resumed(timing, cal, now, share)


def timing_of(row: Deadline) -> Timing:
    return Timing(
        stage=Stage(row.stage),
        status=DeadlineStatus(row.status),
        limit_seconds=row.limit_seconds,
        used_seconds=row.used_seconds,
        resumed_at=row.resumed_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        uncertain=row.uncertain,
        alert_level=row.alert_level,
        next_alert_at=row.next_alert_at,
        closed_at=row.closed_at,
    )


def reschedule_running(
    session: Session, cal: WorkCalendar, share: Fraction, *, start: datetime, end: datetime
) -> int:
    """Recompute running deadlines whose current stretch overlaps [start, end) with `cal`.

    Called when an administrator imports a year: a deadline computed on the weekends-only
    guess gets its real due instant and stops being uncertain. The banked time and the
    start of the running stretch are kept, so the result is what the deadline would have
    said had the calendar been known from the start.
    """
    rows = session.scalars(
        select(Deadline)
        .where(
            Deadline.status == DeadlineStatus.RUNNING,
            Deadline.due_at >= start,
            Deadline.resumed_at < end,
        )
        .order_by(Deadline.id)
        .with_for_update()
    ).all()
    for row in rows:
        moved = _running(timing_of(row), cal, row.resumed_at, share)
        for name, value in moved.values().items():
            setattr(row, name, value)
    return len(rows)
