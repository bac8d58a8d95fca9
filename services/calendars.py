"""The working-day calendar services compute deadlines with."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.workflow.calendar import WorkCalendar

_PACKAGE_ONLY = WorkCalendar()


def calendar_for(session: Session) -> WorkCalendar:
    """The calendar in force: the chinese-calendar package's data, weekends-only past it.

    Administrator-loaded years (调休 published after the package's release) come with the
    deadlines issue; until then every deadline past the package's data is flagged uncertain.
    """
    return _PACKAGE_ONLY
