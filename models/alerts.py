"""Alerts raised on deadlines and units, the notification outbox, and unit activity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Alert(Base):
    """One alert, recorded once: a warning (预警), an overdue (超期), an escalation (督办升级)
    of a deadline, or an unattended inbox (长时间无人办理) of a unit."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # warning | overdue | escalation | unattended
    # warning and overdue: 0; escalation: 1, 2, ... ; unattended: the unit's episode number.
    level: Mapped[int] = mapped_column(default=0)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str | None] = mapped_column(String(16))
    owner_side: Mapped[str | None] = mapped_column(String(8))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Unit alerts only: "office:CZ01" or "department:GZ330106".
    unit_key: Mapped[str | None] = mapped_column(String(48))
    due_at: Mapped[datetime | None]
    # Addresses notified: "office:CZ01", "department:GZ330106", "user:supervisor.cz", "admin".
    recipients: Mapped[list[str]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]

    __table_args__ = (
        # Last line of defence for exactly-once: a second sweeper that got past the row
        # claim still cannot record the same alert twice.
        UniqueConstraint("deadline_id", "kind", "level"),
        UniqueConstraint("unit_key", "kind", "level"),
        Index("ix_alerts_created_at", "created_at"),
    )


class OutboxMessage(Base):
    """A notification waiting to go out. Written in the same transaction as its alert, so a
    failing sender loses nothing: the row stays until a channel accepts it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    alert: Mapped[Alert | None] = relationship()

    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )


class UnitActivity(Base):
    """Per office or department: when its inbox was last opened, and the unattended-inbox
    episodes alerted so far. Sign-ins are on users.last_login_at and actions in the audit
    events; both are read from there rather than copied here."""

    __tablename__ = "unit_activity"

    unit_kind: Mapped[str] = mapped_column(String(12), primary_key=True)  # office | department
    unit_id: Mapped[int] = mapped_column(primary_key=True)
    last_inbox_view_at: Mapped[datetime | None]
    unattended_episodes: Mapped[int] = mapped_column(default=0)
    # The last sign-in/view/action known when the latest episode was alerted (NULL: none
    # ever). Activity after it ends the episode; no new alert until then.
    alerted_activity_at: Mapped[datetime | None]
    alerted_at: Mapped[datetime | None]
