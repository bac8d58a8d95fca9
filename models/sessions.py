"""Server-side sign-in sessions and the failed sign-in counters that throttle guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class UserSession(Base):
    """A signed-in session. The token itself is never stored, only its SHA-256: a database
    reader cannot use a session, and a forged one needs write access to this table."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    # Updated at most once a minute, so that reading pages does not write every time.
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute end (sign-in + session_lifetime_hours)
    revoked_at: Mapped[datetime | None]
    address: Mapped[str | None] = mapped_column(String(64))  # client address at sign-in


class SignInThrottle(Base):
    """Recent failed sign-ins of one username ("user:<name>") or client address
    ("address:<ip>"), whether or not the username exists. Kept in the database so that
    every server process (`serve --workers N`) counts the same failures."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
    locks: Mapped[int] = mapped_column(default=0)  # lock episodes so far
