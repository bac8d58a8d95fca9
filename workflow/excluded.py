"""Excluded time (不计时): the intervals a case's clock stood still, read off its history.

Each interval opens with an action that stops the clock (the window's 一次性告知补正, or an
action starting a hold) and closes with the one that lets it run again; one still open runs
to `now`. Its length is counted as periods are (workflow.calendar.days_used): the whole
working days after the day it began, up to and including the day it ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .actions import ACTIONS
from .calendar import SECONDS_PER_DAY, WorkCalendar, days_used
from .holds import HOLD_LABELS, PROCEDURE_LABELS, SpecialProcedure
from .states import FINAL_STATES

# What opens an interval -> (what closes it, what people call it). The window's 补正 before
# forwarding is no hold (the case has a state of its own), but its time is excluded too.
_WINDOW_SUPPLEMENT = {"request_supplement": ("supplement", "补正（收件窗口）")}
INTERVALS: Mapping[str, tuple[str, str]] = _WINDOW_SUPPLEMENT | {
    start.name: (end.name, HOLD_LABELS[start.starts_hold])
    for start in ACTIONS
    if start.starts_hold is not None
    for end in ACTIONS
    if end.ends_hold is start.starts_hold
}
_FINAL = frozenset(s.value for s in FINAL_STATES)


@dataclass(frozen=True)
class Excluded:
    """One interval of time not counted against the case's limits."""

    kind: str  # the action that opened it
    label: str  # 中止办理, 特别程序（鉴定）, 补正（收件窗口）...
    reasons: tuple[str, ...]
    legal_basis: str
    started_at: datetime
    ended_at: datetime | None  # None while it lasts
    days: int  # whole working days not counted (to `now` while it lasts)


@dataclass(frozen=True)
class Happened:
    """What `excluded` needs of one audit event."""

    action: str
    at: datetime
    reasons: tuple[str, ...]
    payload: Mapping[str, Any]
    to_state: str | None = None


def excluded(events: Iterable[Happened], cal: WorkCalendar, now: datetime) -> list[Excluded]:
    """The case's excluded intervals in the order they began."""
    out: list[Excluded] = []
    opened: Happened | None = None

    def close(at: datetime | None) -> None:
        assert opened is not None
        _, label = INTERVALS[opened.action]
        procedure = opened.payload.get("procedure")
        if procedure in set(SpecialProcedure):
            label = f"{label}（{PROCEDURE_LABELS[SpecialProcedure(procedure)]}）"
        used = days_used(cal, opened.at, at or now).seconds if (at or now) > opened.at else 0
        out.append(
            Excluded(
                kind=opened.action,
                label=label,
                reasons=opened.reasons,
                legal_basis=str(opened.payload.get("legal_basis", "")),
                started_at=opened.at,
                ended_at=at,
                days=used // SECONDS_PER_DAY,
            )
        )

    for event in events:
        if opened is None and event.action in INTERVALS:
            opened = event
        elif opened is not None and event.action == INTERVALS[opened.action][0]:
            close(event.at)
            opened = None
        elif opened is not None and event.to_state in _FINAL:
            close(event.at)  # withdrawn, declined or terminated during the interval
            opened = None
    if opened is not None:
        close(None)
    return out
