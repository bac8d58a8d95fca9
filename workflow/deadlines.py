"""Deadlines: how the time one case spends in a stage starts, pauses, resumes and stops, and
when it warns and falls due. Pure: the caller passes the calendar and the instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from .calendar import Reckoning, WorkCalendar, add_working_seconds, warning_instant
from .stages import Stage, stage_of
from .states import State


class DeadlineStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # 补正期间：the time used is banked, the rest resumes on supplement
    CLOSED = "closed"


DEADLINE_STATUS_LABELS: dict[DeadlineStatus, str] = {
    DeadlineStatus.RUNNING: "进行中",
    DeadlineStatus.PAUSED: "暂停（补正）",
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
    """Due and warning instants of a deadline running (again) from `resumed_at` with
    `used_seconds` already banked; the warning is `warning_instant`'s."""
    return Schedule(
        due=add_working_seconds(cal, resumed_at, max(limit_seconds - used_seconds, 0)),
        warn=warning_instant(
            cal, resumed_at, limit_seconds, warning_share, used_seconds=used_seconds
        ),
    )
