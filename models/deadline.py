"""Stage clocks: one row per running (or paused, or closed) stage of a case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Deadline(Base):
    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    owner_side: Mapped[str] = mapped_column(String(8))  # window | home
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(8))  # running | paused | closed
    limit_seconds: Mapped[int]  # working seconds allowed (working days x 86,400)
    used_seconds: Mapped[int] = mapped_column(default=0)  # banked at each pause
    started_at: Mapped[datetime]
    resumed_at: Mapped[datetime]  # start of the current running stretch
    due_at: Mapped[datetime | None]  # None while paused
    warn_at: Mapped[datetime | None]
    uncertain: Mapped[bool] = mapped_column(default=False)  # computed past the known calendar
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        # The sweeper reads running clocks by due instant; a partial index keeps closed
        # history out of its way.
        Index(
            "ix_deadlines_running_due",
            "due_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
    )
