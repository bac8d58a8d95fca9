"""Who is acting: the signed-in user as the use cases see them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import User
from tongban.workflow.roles import Role

from ..core.errors import Unauthenticated
from ..core.uow import UnitOfWork


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    display_name: str
    role: Role
    office_id: int | None = None
    office_code: str | None = None
    department_id: int | None = None
    department_code: str | None = None
    region_code: str | None = None

    @property
    def unit(self) -> str:
        return self.office_code or self.department_code or self.region_code or "admin"


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        office_id=user.office_id,
        office_code=user.office.code if user.office else None,
        department_id=user.department_id,
        department_code=user.department.code if user.department else None,
        region_code=user.region_code,
    )


def find_actor(session: Session, username: str) -> Actor:
    """The active user `username` in the open transaction, or Unauthenticated."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.active:
        raise Unauthenticated(f"用户「{username}」不存在或已停用。")
    return actor_of(user)


def load_actor(uow: UnitOfWork, username: str) -> Actor:
    """The active user `username`: one short read, for each request that acts or reads."""
    with uow.reading():
        return find_actor(uow.session, username)
