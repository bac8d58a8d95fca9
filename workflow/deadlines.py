"""Deadlines: how the time one case spends in a stage starts, pauses, resumes and stops, and
when it warns and falls due. Pure: the caller passes the calendar and the instant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from .calendar import (
    Reckoning,
    WorkCalendar,
    add_working_seconds,
    day_after,
    days_used,
    due_date,
    local_date,
    warning_instant,
    working_days_between,
)
from .stages import Stage, stage_of
from .states import State

_ONE_DAY = timedelta(days=1)


class DeadlineStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # 补正、中止、特别程序: the days used are banked, the rest runs on resuming
    CLOSED = "closed"


DEADLINE_STATUS_LABELS: dict[DeadlineStatus, str] = {
    DeadlineStatus.RUNNING: "进行中",
    DeadlineStatus.PAUSED: "暂停（不计时）",
    DeadlineStatus.CLOSED: "已结束",
}


@dataclass(frozen=True)
class DeadlineOp:
    kind: Literal["open", "close", "pause", "resume"]
    stage: Stage


def deadline_changes(
    source: State, target: State, originals_required: bool
) -> tuple[DeadlineOp, ...]:
    """What a transition from `source` to `target` does to the case's deadlines."""
    before = stage_of(source, originals_required)
    after = stage_of(target, originals_required)
    if target is State.SUPPLEMENTING and before is not None:
        return (DeadlineOp("pause", before),)
    if source is State.SUPPLEMENTING and after == before and after is not None:
        return (DeadlineOp("resume", after),)
    if before == after:
        return ()
    ops: list[DeadlineOp] = []
    if before is not None:
        ops.append(DeadlineOp("close", before))
    if after is not None:
        ops.append(DeadlineOp("open", after))
    return tuple(ops)


@dataclass(frozen=True)
class Schedule:
    """When a running deadline warns and falls due."""

    due: Reckoning
    warn: Reckoning

    @property
    def uncertain(self) -> bool:
        return self.due.uncertain or self.warn.uncertain


def schedule(
    cal: WorkCalendar,
    resumed_at: datetime,
    *,
    limit_seconds: int,
    used_seconds: int,
    warning_share: Fraction,
) -> Schedule:
    """Due and warning instants of a deadline running (again) from an act at `resumed_at`
    with `used_seconds` already banked: the rest counts from the next day (开始的当日不计入),
    so the due instant is 24:00 of a working day; the warning is `warning_instant`'s."""
    start = day_after(resumed_at)
    return Schedule(
        due=add_working_seconds(cal, start, max(limit_seconds - used_seconds, 0)),
        warn=warning_instant(cal, start, limit_seconds, warning_share, used_seconds=used_seconds),
    )


def supplement_ran_out(running: Iterable[tuple[Stage, datetime | None]], now: datetime) -> bool:
    """Whether the applicant's 补正期限, among a case's running (stage, due) pairs, has run out
    at `now` (视为撤回 may follow)."""
    return any(
        stage is Stage.SUPPLEMENT and due is not None and now >= due for stage, due in running
    )


def used_by(cal: WorkCalendar, resumed_at: datetime, now: datetime) -> int:
    """Working seconds a stretch running since the act at `resumed_at` has used by `now`:
    whole working days, the day of `now` included."""
    return days_used(cal, resumed_at, now).seconds if now > resumed_at else 0


@dataclass(frozen=True)
class TimeLeft:
    """Where a running deadline stands, in the whole working days people read."""

    kind: Literal["left", "today", "over"]
    days: int

    @property
    def text(self) -> str:
        if self.kind == "today":
            return "今日到期"
        if self.kind == "left":
            return f"剩余 {self.days} 个工作日"
        # Past 24:00 of the last day, but no working day since (a weekend right after it).
        return f"已超期 {self.days} 个工作日" if self.days else "已超期"

    @property
    def watch_text(self) -> str:
        """The same for a period nobody is charged with (原件在途, 申请人补正期限)."""
        if self.kind == "over":
            return f"已超出预计 {self.days} 个工作日" if self.days else "已超出预计"
        return "预计今日届满" if self.kind == "today" else f"预计剩余 {self.days} 个工作日"


def time_left(cal: WorkCalendar, due_at: datetime, now: datetime) -> TimeLeft:
    """Whole working days left before `due_at` (today not counted), 今日到期 on the last
    day, or whole working days overdue (today counted) once it has passed."""
    last_day = due_date(due_at)
    today = local_date(now)
    if now < due_at:
        if today >= last_day:
            return TimeLeft("today", 0)
        return TimeLeft("left", working_days_between(cal, today + _ONE_DAY, last_day))
    return TimeLeft("over", working_days_between(cal, last_day + _ONE_DAY, today))
