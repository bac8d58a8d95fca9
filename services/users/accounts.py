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
    if len(password) < 8:
        raise InvalidInput("密码：至少8位。", field="password")
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
        if user is None or not user.active or not check_password(password, user.password_hash):
            raise Unauthenticated("用户名或密码不正确。")
        user.last_login_at = now
        actor = actor_of(user)
        uow.commit()
    return actor
