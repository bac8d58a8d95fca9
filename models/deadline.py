"""Deadlines: the time each case spends in each stage, and what is owed of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.workflow.deadlines import DeadlineStatus
from tongban.workflow.stages import Stage
from tongban.workflow.states import Side

from .base import Base, stored_enum


class Deadline(Base):
    """The time one case spends in one stage (办理时限): one row per stage it entered."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[Stage] = mapped_column(stored_enum(Stage, 16))
    owner_side: Mapped[Side] = mapped_column(stored_enum(Side, 8))  # window | home
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[DeadlineStatus] = mapped_column(stored_enum(DeadlineStatus, 8))
    limit_seconds: Mapped[int]  # working seconds allowed (working days x 86,400)
    used_seconds: Mapped[int] = mapped_column(default=0)  # banked at each pause
    started_at: Mapped[datetime]
    resumed_at: Mapped[datetime]  # start of the current running stretch
    due_at: Mapped[datetime | None]  # None while paused
    warn_at: Mapped[datetime | None]
    uncertain: Mapped[bool] = mapped_column(default=False)  # computed past the known calendar
    closed_at: Mapped[datetime | None]
    # Alerts sent so far: 0 none, 1 warning (预警), 2 overdue (超期), 2 + k after the k-th
    # escalation. Kept across pause and resume, so a resumed deadline never warns twice.
    alert_level: Mapped[int] = mapped_column(default=0)
    # When the sweeper must next look at this deadline; NULL unless running. The sweeper reads
    # only rows with next_alert_at <= now, through a partial index, so its cost follows the
    # deadlines coming due and not the open ones.
    next_alert_at: Mapped[datetime | None]

    __table_args__ = (
        # Running deadlines by due instant (overdue lists, calendar re-imports); a partial index
        # keeps closed history out of the way.
        Index(
            "ix_deadlines_running_due",
            "due_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        # The sweeper's claim: `next_alert_at <= now ORDER BY next_alert_at, id`.
        Index(
            "ix_deadlines_next_alert",
            "next_alert_at",
            "id",
            postgresql_where=text("next_alert_at IS NOT NULL"),
            sqlite_where=text("next_alert_at IS NOT NULL"),
        ),
        # Unattended-inbox detection: the oldest waiting deadline of one unit, one index probe.
        Index(
            "ix_deadlines_office_waiting",
            "office_id",
            "resumed_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index(
            "ix_deadlines_department_waiting",
            "department_id",
            "resumed_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
    )
