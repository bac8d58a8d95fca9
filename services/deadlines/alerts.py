"""What a deadline says at a given instant: warning (预警), overdue (超期), time used, and
the alert levels the sweeper moves through.

Every function takes the instant `now` from the caller. `deadline_alert` needs no calendar
and no query; time used needs the calendar in force (calendar.store.calendar_for).
"""

from __future__ import annotations

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
from tongban.workflow.deadlines import DeadlineStatus, used_by

AlertState = Literal["warning", "overdue"]

# alert_level on a deadline: the alerts already sent.
LEVEL_NONE, LEVEL_WARNED, LEVEL_OVERDUE = 0, 1, 2


class WorkingTime:
    """Time allowed and used, in working seconds, as people read it in working days."""

    limit_seconds: int
    used_seconds: int

    @property
    def overdue_seconds(self) -> int:
        return max(self.used_seconds - self.limit_seconds, 0)

    # Periods count in whole working days (workflow.calendar.days_used), so these divide
    # exactly; rows written before day counting are rounded up, as a started day counts.
    @property
    def limit_days(self) -> int:
        return -(-self.limit_seconds // SECONDS_PER_DAY)

    @property
    def used_days(self) -> int:
        return -(-self.used_seconds // SECONDS_PER_DAY)

    @property
    def days_over(self) -> int:
        """Whole working days beyond the limit (0 when in time)."""
        return -(-self.overdue_seconds // SECONDS_PER_DAY)


def deadline_alert(row: Deadline, now: datetime) -> AlertState | None:
    """Warning or overdue at `now`; a stopped deadline is overdue when it used more than
    its limit."""
    if row.status is DeadlineStatus.RUNNING:
        if row.due_at is not None and now >= row.due_at:
            return "overdue"
        if row.warn_at is not None and now >= row.warn_at:
            return "warning"
        return None
    if row.used_seconds > row.limit_seconds:
        return "overdue"  # paused or closed after its time ran out
    return None


def late_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: deadlines that ran late: running past due, or stopped having used more than
    allowed (the running ones through ix_deadlines_running_due)."""
    return or_(
        and_(Deadline.status == DeadlineStatus.RUNNING, Deadline.due_at <= now),
        and_(
            Deadline.status != DeadlineStatus.RUNNING,
            Deadline.used_seconds > Deadline.limit_seconds,
        ),
    )


def used_seconds_at(row: Deadline, now: datetime, cal: WorkCalendar) -> int:
    """Working seconds the deadline has used by `now` (banked time plus the running stretch)."""
    if row.status is not DeadlineStatus.RUNNING:
        return row.used_seconds
    return row.used_seconds + used_by(cal, row.resumed_at, now)


# --- alert levels (the sweeper's arithmetic) -----------------------------------------------


def owed_level(row: Deadline, now: datetime, cal: WorkCalendar, escalation_seconds: int) -> int:
    """The alert level a running deadline has reached at `now`.

    0 nothing, 1 warning, 2 overdue, 2 + k once k escalation periods have passed since the
    due instant (escalation_seconds of working time each; 0 disables escalation).
    """
    if row.status is not DeadlineStatus.RUNNING or row.due_at is None or row.warn_at is None:
        return LEVEL_NONE
    if now < row.warn_at:
        return LEVEL_NONE
    if now < row.due_at:
        return LEVEL_WARNED
    if escalation_seconds <= 0:
        return LEVEL_OVERDUE
    late = working_seconds_between(cal, row.due_at, now).seconds
    return LEVEL_OVERDUE + late // escalation_seconds


def next_alert_after(
    row: Deadline, level: int, cal: WorkCalendar, escalation_seconds: int
) -> datetime | None:
    """When the alert after `level` falls due (None: nothing more to send)."""
    if row.status is not DeadlineStatus.RUNNING or row.due_at is None:
        return None
    if level == LEVEL_NONE:
        return row.warn_at
    if level == LEVEL_WARNED:
        return row.due_at
    if escalation_seconds <= 0:
        return None
    # Escalation k is due k periods after the due instant; the next one is k = level - 1.
    return add_working_seconds(cal, row.due_at, (level - 1) * escalation_seconds).instant
