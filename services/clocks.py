"""Stage clocks in the database: open, pause, resume and close deadline rows as a case moves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import Case, Deadline
from tongban.workflow.calendar import (
    SECONDS_PER_DAY,
    WorkCalendar,
    add_working_seconds,
    working_seconds_between,
)
from tongban.workflow.guide import GuideConfig
from tongban.workflow.stages import STAGE_OWNER, ClockOp, Stage
from tongban.workflow.states import Side

# A warning (预警) once two thirds of a stage's working time is used.
WARNING_SHARE = Fraction(2, 3)


def _schedule(clock: Deadline, cal: WorkCalendar, now: datetime) -> None:
    """Set due and warning instants for a clock running from `now` with its banked time."""
    due = add_working_seconds(cal, now, max(clock.limit_seconds - clock.used_seconds, 0))
    threshold = math.ceil(WARNING_SHARE * clock.limit_seconds)
    warn = add_working_seconds(cal, now, max(threshold - clock.used_seconds, 0))
    clock.resumed_at = now
    clock.due_at = due.instant
    clock.warn_at = warn.instant
    clock.uncertain = due.uncertain or warn.uncertain


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
    open_clocks = (
        {}
        if all(op.kind == "open" for op in ops)
        else {
            c.stage: c
            for c in session.scalars(
                select(Deadline).where(Deadline.case_id == case.id, Deadline.status != "closed")
            )
        }
    )
    for op in ops:
        clock = open_clocks.get(op.stage.value)
        if op.kind == "open":
            session.add(_open(case, op.stage, config, cal, now))
        elif clock is None:
            continue  # a clock opened before this deployment tracked it: nothing to move
        elif op.kind == "close":
            _bank(clock, cal, now)
            clock.status, clock.closed_at = "closed", now
        elif op.kind == "pause":
            _bank(clock, cal, now)
            clock.status, clock.due_at, clock.warn_at = "paused", None, None
        elif op.kind == "resume":
            clock.status = "running"
            _schedule(clock, cal, now)
