"""Server-side sessions: a random token for the client, its SHA-256 in the database.

A session ends when it is revoked (sign-out, the user disabled, the password reset or
changed), after `session_idle_minutes` without a request, or `session_lifetime_hours` after
sign-in. Each request makes one read: the session joined with its user's actor columns
(`authenticate`); last-seen is written at most once a minute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tongban.models import User, UserSession

from ..core.config import Settings
from ..core.errors import NotFound, Unauthenticated
from ..core.uow import UnitOfWork
from .actors import ACTOR_COLUMNS, Actor, actor_from_row, actor_joins

log = structlog.get_logger("tongban.session")

MAX_TOKEN_CHARS = 1024
# Last-seen is written when it is older than this: reading pages writes once a minute.
TOUCH_EVERY = timedelta(minutes=1)
# Ended sessions are kept this long after their absolute end (`users sessions` lists them),
# then deleted when the user next signs in.
KEEP_ENDED = timedelta(days=30)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_id: int
    token_hash: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    token: str  # given to the client once; only its hash is kept
    session: SessionInfo


def open_session(
    conn: Connection, settings: Settings, *, user_id: int, now: datetime, address: str | None
) -> tuple[str, SessionInfo]:
    """A new session in the caller's transaction; the user's sessions that ended more than
    KEEP_ENDED ago are deleted."""
    conn.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id, UserSession.expires_at < now - KEEP_ENDED
        )
    )
    token = secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    expires_at = now + timedelta(hours=settings.session_lifetime_hours)
    session_id = conn.execute(
        insert(UserSession)
        .values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            revoked_at=None,
            address=(address or None) and address[:64],
        )
        .returning(UserSession.id)
    ).scalar_one()
    return token, SessionInfo(session_id, user_id, token_hash, now, now, expires_at)


_BY_TOKEN = actor_joins(
    select(
        UserSession.id.label("session_id"),
        UserSession.last_seen_at,
        UserSession.expires_at,
        UserSession.revoked_at,
        UserSession.created_at,
        *ACTOR_COLUMNS,
    ).join(User, User.id == UserSession.user_id)
).where(UserSession.token_hash == bindparam("token_hash"))
_TOUCH = (
    update(UserSession)
    .where(UserSession.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)


def authenticate(uow: UnitOfWork, token_hash: str, *, now: datetime) -> tuple[Actor, SessionInfo]:
    """The actor of a live session, or Unauthenticated; one joined read, and a write of
    last-seen when the last one is a minute old."""
    settings = uow.rt.settings
    with uow.reading():
        row = uow.connection.execute(_BY_TOKEN, {"token_hash": token_hash}).one_or_none()
    if row is None:
        raise Unauthenticated("登录凭证无效，请重新登录。", code="auth.invalid")
    if row.revoked_at is not None:
        raise Unauthenticated("您已退出登录或登录已被注销，请重新登录。", code="auth.revoked")
    if now >= row.expires_at:
        raise Unauthenticated(
            f"登录已超过{settings.session_lifetime_hours}小时，请重新登录。", code="auth.expired"
        )
    if now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        raise Unauthenticated(
            f"已超过{settings.session_idle_minutes}分钟未操作，请重新登录。", code="auth.expired"
        )
    if not row.active:
        raise Unauthenticated(f"用户「{row.username}」不存在或已停用。")
    last_seen = row.last_seen_at
    if now - last_seen >= TOUCH_EVERY:
        with uow:
            uow.connection.execute(_TOUCH, {"session_id": row.session_id, "now": now})
            uow.commit()
        last_seen = now
    info = SessionInfo(
        row.session_id, row.user_id, token_hash, row.created_at, last_seen, row.expires_at
    )
    return actor_from_row(row), info


def revoke_session(uow: UnitOfWork, token_hash: str, *, now: datetime) -> None:
    """Sign-out: the session stops working at once."""
    with uow:
        uow.connection.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash, UserSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        uow.commit()


def revoke_user_sessions(
    conn: Connection, user_id: int, *, now: datetime, keep: int | None = None
) -> int:
    """Revoke every live session of a user (but `keep`), in the caller's transaction."""
    stmt = (
        update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .values(revoked_at=now)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return conn.execute(stmt).rowcount


def revoke_all_sessions(uow: UnitOfWork, *, username: str, now: datetime) -> int:
    """End every live session of a user (an administrator's decision)."""
    with uow:
        user_id = uow.connection.execute(
            select(User.id).where(User.username == username)
        ).scalar_one_or_none()
        if user_id is None:
            raise NotFound(f"用户名：「{username}」不存在。", code="user.not_found")
        revoked = revoke_user_sessions(uow.connection, user_id, now=now)
        uow.commit()
    log.info("sessions.revoked", username=username, revoked=revoked)
    return revoked


@dataclass(frozen=True)
class SessionRow:
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    address: str | None
    live: bool


def list_sessions(uow: UnitOfWork, *, username: str, now: datetime) -> list[SessionRow]:
    """A user's sessions, newest first, saying which still work."""
    idle = timedelta(minutes=uow.rt.settings.session_idle_minutes)
    with uow.reading():
        user_id = uow.connection.execute(
            select(User.id).where(User.username == username)
        ).scalar_one_or_none()
        if user_id is None:
            raise NotFound(f"用户名：「{username}」不存在。", code="user.not_found")
        rows = uow.connection.execute(
            select(UserSession.__table__)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.id.desc())
        ).all()
    return [
        SessionRow(
            r.id, r.created_at, r.last_seen_at, r.expires_at, r.revoked_at, r.address,
            live=r.revoked_at is None and now < r.expires_at and now - r.last_seen_at < idle,
        )
        for r in rows
    ]  # fmt: skip
