"""What a stage clock says at a given instant: warning (预警), overdue (超期), time left.

For the API and the workbench (services.queries) and for the sweeper: every function takes
the instant `now` from the caller. `clock_alert` needs no calendar and no query; the
figures in working time (`clock_status`) need the calendar in force (calendars.calendar_for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_

from tongban.models import Deadline
from tongban.workflow.calendar import (
    SECONDS_PER_DAY,
    WorkCalendar,
    add_working_seconds,
    working_seconds_between,
)
from tongban.workflow.stages import STAGE_LABELS, Stage

AlertState = Literal["warning", "overdue"]

# alert_level on a clock: the alerts already sent.
LEVEL_NONE, LEVEL_WARNED, LEVEL_OVERDUE = 0, 1, 2


def clock_alert(clock: Deadline, now: datetime) -> AlertState | None:
    """Warning or overdue at `now`; a closed clock is overdue when it used more than its limit."""
    if clock.status == "running":
        if clock.due_at is not None and now >= clock.due_at:
            return "overdue"
        if clock.warn_at is not None and now >= clock.warn_at:
            return "warning"
        return None
    if clock.used_seconds > clock.limit_seconds:
        return "overdue"  # paused or closed after its time ran out
    return None


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: running clocks past their due instant (uses ix_deadlines_running_due)."""
    return and_(Deadline.status == "running", Deadline.due_at <= now)


def warning_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: running clocks past their warning instant but not yet due."""
    return and_(Deadline.status == "running", Deadline.warn_at <= now, Deadline.due_at > now)


def late_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: clocks that ran late: running past due, or stopped having used more than allowed."""
    return or_(
        overdue_clause(now),
        and_(Deadline.status != "running", Deadline.used_seconds > Deadline.limit_seconds),
    )


def used_seconds_at(clock: Deadline, now: datetime, cal: WorkCalendar) -> int:
    """Working seconds the clock has used by `now` (banked time plus the running stretch)."""
    used = clock.used_seconds
    if clock.status == "running" and now > clock.resumed_at:
        used += working_seconds_between(cal, clock.resumed_at, now).seconds
    return used


@dataclass(frozen=True)
class ClockStatus:
    clock_id: int
    case_id: int
    stage: str
    stage_label: str
    owner_side: str
    status: str  # running | paused | closed
    alert: AlertState | None
    alerts_sent: int  # 0 none, 1 warning, 2 overdue, 2 + k after k escalations
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    uncertain: bool  # computed past the known calendar (日历未确认)
    limit_seconds: int
    used_seconds: int  # by `now`
    closed_at: datetime | None

    @property
    def remaining_seconds(self) -> int:
        return max(self.limit_seconds - self.used_seconds, 0)

    @property
    def overdue_seconds(self) -> int:
        return max(self.used_seconds - self.limit_seconds, 0)

    @property
    def limit_days(self) -> float:
        return self.limit_seconds / SECONDS_PER_DAY

    @property
    def used_days(self) -> float:
        return self.used_seconds / SECONDS_PER_DAY

    @property
    def days_over(self) -> float:
        """Working days beyond the limit (0 when in time)."""
        return self.overdue_seconds / SECONDS_PER_DAY


def clock_status(clock: Deadline, now: datetime, cal: WorkCalendar) -> ClockStatus:
    return ClockStatus(
        clock_id=clock.id,
        case_id=clock.case_id,
        stage=clock.stage,
        stage_label=STAGE_LABELS[Stage(clock.stage)],
        owner_side=clock.owner_side,
        status=clock.status,
        alert=clock_alert(clock, now),
        alerts_sent=clock.alert_level,
        started_at=clock.started_at,
        due_at=clock.due_at,
        warn_at=clock.warn_at,
        uncertain=clock.uncertain,
        limit_seconds=clock.limit_seconds,
        used_seconds=used_seconds_at(clock, now, cal),
        closed_at=clock.closed_at,
    )


# --- alert levels (the sweeper's arithmetic) -----------------------------------------------


def owed_level(clock: Deadline, now: datetime, cal: WorkCalendar, escalation_seconds: int) -> int:
    """The alert level a running clock has reached at `now`.

    0 nothing, 1 warning, 2 overdue, 2 + k once k escalation periods have passed since the
    due instant (escalation_seconds of working time each; 0 disables escalation).
    """
    if clock.status != "running" or clock.due_at is None or clock.warn_at is None:
        return LEVEL_NONE
    if now < clock.warn_at:
        return LEVEL_NONE
    if now < clock.due_at:
        return LEVEL_WARNED
    if escalation_seconds <= 0:
        return LEVEL_OVERDUE
    late = working_seconds_between(cal, clock.due_at, now).seconds
    return LEVEL_OVERDUE + late // escalation_seconds


def next_alert_after(
    clock: Deadline, level: int, cal: WorkCalendar, escalation_seconds: int
) -> datetime | None:
    """When the alert after `level` falls due (None: nothing more to send)."""
    if clock.status != "running" or clock.due_at is None:
        return None
    if level == LEVEL_NONE:
        return clock.warn_at
    if level == LEVEL_WARNED:
        return clock.due_at
    if escalation_seconds <= 0:
        return None
    # Escalation k is due k periods after the due instant; the next one is k = level - 1.
    return add_working_seconds(cal, clock.due_at, (level - 1) * escalation_seconds).instant
