"""The working-day calendar an administrator loads (holidays and 调休 make-up working days)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CalendarDay(Base):
    """A date whose status an administrator stated: a holiday or a make-up working day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    working: Mapped[bool]
    name: Mapped[str] = mapped_column(String(60), default="")


class CalendarYear(Base):
    """A year loaded in full: its dates not in calendar_days follow the weekday rule."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(255), default="")
    holidays: Mapped[int] = mapped_column(default=0)
    workdays: Mapped[int] = mapped_column(default=0)
    # The calendar version this import made (settings "calendar.version"): the sweeper
    # recomputes deadlines through years imported since the version it last reconciled.
    version: Mapped[int] = mapped_column(default=0)
