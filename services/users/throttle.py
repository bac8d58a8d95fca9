"""Throttling failed sign-ins, per username and per client address.

Each failure counts against both keys ("user:<name>", "address:<ip>"), whether or not the
username exists. After `free` failures every further one doubles the wait before the next
try is even looked at (2 s, 4 s, 8 s ...); at `lock` failures the key is locked for
`signin_lock_minutes`, which is logged and raised as an alert to the admin. Failures older
than `signin_lock_minutes` are forgotten; a successful sign-in forgets its username's.

The counters are rows (models.SignInThrottle), so every server process counts the same
failures. A failure is one upsert per key that adds to the count atomically; parallel
guesses that all pass the check before any failure is counted are still each counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

import structlog
from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tongban.models import Alert, SignInThrottle
from tongban.workflow.calendar import local_minute

from ..core.config import Settings
from ..core.errors import Throttled
from ..deadlines.outbox import enqueue

log = structlog.get_logger("tongban.signin")

FIRST_BACKOFF = timedelta(seconds=2)
ALERT_KIND = "signin_locked"


@dataclass(frozen=True)
class Key:
    key: str
    kind: str  # "user" | "address"
    free: int
    lock: int


def keys_for(settings: Settings, username: str, address: str | None) -> list[Key]:
    keys = [Key(f"user:{username}"[:200], "user", settings.signin_user_free,
                settings.signin_user_lock)]  # fmt: skip
    if address:
        keys.append(Key(f"address:{address}"[:200], "address", settings.signin_address_free,
                        settings.signin_address_lock))  # fmt: skip
    return keys


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}秒"
    return f"{ceil(seconds / 60)}分钟"


def check(conn: Connection, keys: Sequence[Key], now: datetime) -> None:
    """Throttled when any key is waiting out a back-off or a lock (one indexed read)."""
    rows = conn.execute(
        select(SignInThrottle.key, SignInThrottle.blocked_until, SignInThrottle.failures).where(
            SignInThrottle.key.in_([k.key for k in keys])
        )
    ).all()
    by_key = {k.key: k for k in keys}
    worst: tuple[int, Key, int] | None = None
    for row in rows:
        if row.blocked_until is None or row.blocked_until <= now:
            continue
        wait = ceil((row.blocked_until - now).total_seconds())
        if worst is None or wait > worst[0]:
            worst = (wait, by_key[row.key], row.failures)
    if worst is None:
        return
    wait, key, failures = worst
    locked = failures >= key.lock
    who = "该用户名" if key.kind == "user" else "您所在网络地址"
    if locked:
        message = (
            f"{who}登录失败次数过多，已暂时锁定。请在{_wait_text(wait)}后再试，"
            "或联系系统管理员重置密码。"
        )
    else:
        message = f"{who}登录失败次数较多，请在{_wait_text(wait)}后再试。"
    raise Throttled(message, code="auth.locked" if locked else "auth.throttled", retry_after=wait)


def _count_failure(
    conn: Connection, key: str, now: datetime, forget_before: datetime
) -> tuple[int, int]:
    """Add one failure to `key` (starting over when the last is older than forget_before);
    the new count and the lock episodes so far."""
    t = SignInThrottle
    row = {"key": key, "failures": 1, "last_failure_at": now, "blocked_until": None, "locks": 0}
    set_ = {
        "failures": case((t.last_failure_at < forget_before, 1), else_=t.failures + 1),
        "last_failure_at": now,
    }
    if conn.dialect.name == "postgresql":
        pg = pg_insert(t).values(**row)
        pg_stmt = pg.on_conflict_do_update(index_elements=[t.key], set_=set_)
        failures, locks = conn.execute(pg_stmt.returning(t.failures, t.locks)).one()
        return failures, locks
    lite = sqlite_insert(t).values(**row)
    lite_stmt = lite.on_conflict_do_update(index_elements=[t.key], set_=set_)
    failures, locks = conn.execute(lite_stmt.returning(t.failures, t.locks)).one()
    return failures, locks


def record_failure(
    conn: Connection, session: Session, settings: Settings, keys: Sequence[Key], now: datetime,
    *, username: str, address: str | None,
) -> None:  # fmt: skip
    """Count a failure against each key; set its back-off or lock; alert on a new lock."""
    window = timedelta(minutes=settings.signin_lock_minutes)
    for key in keys:
        failures, locks = _count_failure(conn, key.key, now, now - window)
        if failures < key.free:
            continue
        if failures >= key.lock:
            blocked_until = now + window
        else:
            blocked_until = now + FIRST_BACKOFF * (1 << min(failures - key.free, 20))
        newly_locked = failures == key.lock
        conn.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == key.key)
            .values(blocked_until=blocked_until, locks=locks + (1 if newly_locked else 0))
        )
        if newly_locked:
            _alert(session, settings, key, now, blocked_until, username=username, address=address)


def _alert(
    session: Session, settings: Settings, key: Key, now: datetime, until: datetime,
    *, username: str, address: str | None,
) -> None:  # fmt: skip
    what = f"用户名「{username}」" if key.kind == "user" else f"网络地址 {address}"
    subject = f"【登录锁定】{what}连续 {key.lock} 次登录失败，已锁定至 {local_minute(until)}"
    details = {
        "key": key.kind,
        "username": username[:64],
        "address": address,
        "failures": key.lock,
        "locked_until": until.isoformat(),
    }
    log.warning("signin.locked", **details)
    alert = Alert(kind=ALERT_KIND, level=0, recipients=["admin"], details=details, created_at=now)
    session.add(alert)
    session.flush()
    body = "\n".join(
        [
            subject,
            f"最近一次尝试的用户名：{username[:64]}",
            f"最近一次尝试的网络地址：{address or '未知'}",
            "若非本人操作，可能有人在猜测密码；可用 `tongban users disable` 停用账号，"
            "或 `tongban users reset-password` 重置密码。",
        ]
    )
    enqueue(
        session,
        channel=settings.notify_channel,
        recipients=["admin"],
        subject=subject,
        body=body,
        now=now,
        alert_id=alert.id,
    )


def forget(conn: Connection, username: str) -> None:
    """A successful sign-in: the username's failures are forgotten (not the address's)."""
    conn.execute(delete(SignInThrottle).where(SignInThrottle.key == f"user:{username}"[:200]))
