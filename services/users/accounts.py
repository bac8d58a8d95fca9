"""Users: creation and password sign-in (scrypt hashes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select

from tongban.models import Department, Office, User
from tongban.workflow.roles import Role

from ..core.errors import Conflict, InvalidInput, Unauthenticated
from ..core.uow import UnitOfWork
from .actors import Actor, actor_of

_N, _R, _P = 2**14, 8, 1


# A hash of a random password nobody knows. Checked against when the username is unknown
# or disabled, so that such a sign-in costs one scrypt like a wrong password does and the
# answer time does not tell which usernames exist (it answered in 4 ms instead of 120).
_NOBODY_HASH = (
    "scrypt$16384$ac1603e861d573efd9a3e5bd6672b89a$496a4cd60212e99df721792bfb4d57000fa9d1298366"
    "c20e2023db277a8e9b18d0da97f4fc5d1186c4c497f2b2b0ccc3dba7d9f45dcfd3fdf6beea191a6861ae"
)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=_R, p=_P)
    return hmac.compare_digest(got.hex(), digest)


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


def sign_in(uow: UnitOfWork, *, username: str, password: str, now: datetime) -> Actor:
    with uow:
        user = uow.session.scalars(select(User).where(User.username == username)).first()
        known = user if user is not None and user.active else None
        matches = check_password(password, known.password_hash if known else _NOBODY_HASH)
        if known is None or not matches:
            raise Unauthenticated("用户名或密码不正确。")
        known.last_login_at = now
        actor = actor_of(known)
        uow.commit()
    return actor
