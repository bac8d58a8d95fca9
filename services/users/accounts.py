"""Users: creation, password sign-in (throttled, Argon2id), password changes and resets,
disabling and enabling; every change that ends a user's trust revokes their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import bindparam, select, update

from tongban.models import Department, Office, User
from tongban.workflow.roles import ROLE_LABELS, Role

from ..core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from ..core.uow import UnitOfWork
from . import throttle
from .actors import ACTOR_COLUMNS, Actor, actor_from_row, actor_joins, actor_of
from .passwords import NOBODY_HASH, hash_password, verify_password
from .sessions import SignedIn, open_session, revoke_user_sessions

log = structlog.get_logger("tongban.users")

MIN_PASSWORD = 8
# The most common passwords in published leak lists (and the words people reach for
# first here); a longer list belongs in a deployment's own policy.
_COMMON_PASSWORDS = frozenset(
    {
        "12345678", "123456789", "1234567890", "87654321", "11111111", "88888888",
        "00000000", "12341234", "11223344", "password", "password1", "passw0rd",
        "qwertyui", "qwerty123", "abcd1234", "a1234567", "1q2w3e4r", "1qaz2wsx",
        "iloveyou", "woaini520", "admin123", "admin888", "tongban123", "zxcvbnm1",
    }
)  # fmt: skip


def check_password_policy(username: str, password: str) -> None:
    """At least MIN_PASSWORD characters, not the username, not a common password."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码：至少{MIN_PASSWORD}位。", field="password")
    if username.lower() in password.lower():
        raise InvalidInput("密码：不能包含用户名。", field="password")
    if password.lower() in _COMMON_PASSWORDS:
        raise InvalidInput("密码：过于常见，容易被猜中，请换一个。", field="password")


def create_user(
    uow: UnitOfWork,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    office_code: str | None = None,
    department_code: str | None = None,
    region_code: str | None = None,
) -> Actor:
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInput(
            "角色：应为 clerk（窗口人员）、reviewer（属地审批人员）、"
            "supervisor（督查人员）或 admin（系统管理员）。",
            field="role",
        ) from None
    check_password_policy(username, password)
    with uow:
        session = uow.session
        if session.scalars(select(User).where(User.username == username)).first():
            raise Conflict(f"用户名：「{username}」已存在。", code="user.exists")
        user = User(
            username=username,
            display_name=display_name,
            role=chosen,
            password_hash=hash_password(password),
        )
        if chosen is Role.CLERK:
            office = session.scalars(select(Office).where(Office.code == office_code)).first()
            if office is None:
                raise InvalidInput(f"收件窗口：「{office_code}」不存在。", field="office")
            user.office = office
        elif chosen is Role.REVIEWER:
            dept = session.scalars(
                select(Department).where(Department.code == department_code)
            ).first()
            if dept is None:
                raise InvalidInput(f"办理地部门：「{department_code}」不存在。", field="department")
            user.department = dept
        elif chosen is Role.SUPERVISOR:
            if not (region_code and len(region_code) == 6 and region_code.isdigit()):
                raise InvalidInput("行政区划代码：督查人员须指定6位行政区划代码。", field="region")
            user.region_code = region_code
        session.add(user)
        session.flush()
        actor = actor_of(user)
        uow.commit()
    return actor


_FOR_SIGN_IN = actor_joins(select(*ACTOR_COLUMNS, User.password_hash)).where(
    User.username == bindparam("username")
)


def sign_in(
    uow: UnitOfWork, *, username: str, password: str, now: datetime, address: str | None = None
) -> SignedIn:
    """Check the password and open a session.

    A username or address waiting out a back-off or a lock is refused (Throttled) before
    any hash. Otherwise exactly one Argon2 verification runs, against a dummy hash when
    the user is unknown or disabled, outside any transaction; then one short transaction
    counts the failure, or opens the session, forgets the username's failures and, for a
    scrypt hash, stores its Argon2id replacement.
    """
    settings = uow.rt.settings
    keys = throttle.keys_for(settings, username, address)
    with uow.reading():
        throttle.check(uow.connection, keys, now)
        row = uow.connection.execute(_FOR_SIGN_IN, {"username": username}).one_or_none()
    known = row if row is not None and row.active else None
    verified = verify_password(password, known.password_hash if known else NOBODY_HASH)
    if known is None or not verified.matches:
        with uow:
            throttle.record_failure(
                uow.connection, uow.session, settings, keys, now,
                username=username, address=address,
            )  # fmt: skip
            uow.commit()
        log.info("signin.failed", username=username[:64], address=address)
        raise Unauthenticated("用户名或密码不正确。")
    values: dict[str, object] = {"last_login_at": now}
    if verified.needs_rehash:
        values["password_hash"] = hash_password(password)
    with uow:
        conn = uow.connection
        throttle.forget(conn, username)
        conn.execute(update(User).where(User.id == known.user_id).values(**values))
        token, session = open_session(
            conn, settings, user_id=known.user_id, now=now, address=address
        )
        uow.commit()
    log.info("signin", username=username, address=address, rehashed=verified.needs_rehash)
    return SignedIn(actor_from_row(known), token, session)


def _user_id(uow: UnitOfWork, username: str) -> int:
    found = uow.connection.execute(
        select(User.id).where(User.username == username)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"用户名：「{username}」不存在。", code="user.not_found")
    return found


def change_password(
    uow: UnitOfWork, *, actor: Actor, session_id: int, current: str, new: str, now: datetime
) -> int:
    """The signed-in user changes their own password: the current one is checked, the new
    one meets the policy; their other sessions are revoked (this one goes on). Returns how
    many were revoked."""
    with uow.reading():
        stored = uow.connection.execute(
            select(User.password_hash).where(User.id == actor.user_id)
        ).scalar_one()
    if not verify_password(current, stored).matches:
        raise InvalidInput("当前密码：不正确。", field="current_password")
    check_password_policy(actor.username, new)
    if current == new:
        raise InvalidInput("新密码：不能与当前密码相同。", field="new_password")
    new_hash = hash_password(new)
    with uow:
        conn = uow.connection
        conn.execute(update(User).where(User.id == actor.user_id).values(password_hash=new_hash))
        revoked = revoke_user_sessions(conn, actor.user_id, now=now, keep=session_id)
        uow.commit()
    log.info("password.changed", username=actor.username, sessions_revoked=revoked)
    return revoked


def reset_password(uow: UnitOfWork, *, username: str, password: str, now: datetime) -> int:
    """An administrator sets a new password: every session of the user is revoked and the
    username's failed sign-ins forgotten. Returns how many sessions were revoked."""
    check_password_policy(username, password)
    new_hash = hash_password(password)
    with uow:
        conn = uow.connection
        user_id = _user_id(uow, username)
        conn.execute(update(User).where(User.id == user_id).values(password_hash=new_hash))
        revoked = revoke_user_sessions(conn, user_id, now=now)
        throttle.forget(conn, username)
        uow.commit()
    log.info("password.reset", username=username, sessions_revoked=revoked)
    return revoked


def set_active(uow: UnitOfWork, *, username: str, active: bool, now: datetime) -> int:
    """Disable or enable a user. Disabling revokes every session, so enabling again
    revives none of them. Returns how many sessions were revoked."""
    with uow:
        conn = uow.connection
        user_id = _user_id(uow, username)
        conn.execute(update(User).where(User.id == user_id).values(active=active))
        revoked = 0 if active else revoke_user_sessions(conn, user_id, now=now)
        uow.commit()
    log.info("user.enabled" if active else "user.disabled", username=username, revoked=revoked)
    return revoked


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    role: Role
    role_label: str
    unit: str
    active: bool
    last_login_at: datetime | None


def list_users(uow: UnitOfWork) -> list[UserRow]:
    with uow.reading():
        rows = uow.connection.execute(
            actor_joins(select(*ACTOR_COLUMNS, User.last_login_at)).order_by(User.username)
        ).all()
    out = []
    for row in rows:
        actor = actor_from_row(row)
        label = ROLE_LABELS[actor.role]
        out.append(UserRow(actor.username, actor.display_name, actor.role, label, actor.unit,
                           row.active, row.last_login_at))  # fmt: skip
    return out
