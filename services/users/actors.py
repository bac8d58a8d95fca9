"""Who is acting: the signed-in user as the use cases see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, select

from tongban.models import Department, Office, User
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


# The columns an actor needs, labelled as Actor's fields, and the user's `active` flag: read
# with Core, not as ORM objects (every request makes one such read, and loading a User with
# its office and department costs twice as much).
ACTOR_COLUMNS = (
    User.id.label("user_id"),
    User.username,
    User.display_name,
    User.role,
    User.office_id,
    Office.code.label("office_code"),
    User.department_id,
    Department.code.label("department_code"),
    User.region_code,
    User.active,
)
_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")
_ACTOR_FIELDS = tuple(c.key for c in ACTOR_COLUMNS if c.key != "active")


def actor_joins(stmt: _S) -> _S:
    """`stmt` (which selects from users) joined with what ACTOR_COLUMNS read."""
    return stmt.outerjoin(Office, Office.id == User.office_id).outerjoin(
        Department, Department.id == User.department_id
    )


def actor_from_row(row: Row[*tuple[Any, ...]]) -> Actor:
    mapping = row._mapping
    return Actor(**{name: mapping[name] for name in _ACTOR_FIELDS})


_BY_USERNAME = actor_joins(select(*ACTOR_COLUMNS)).where(User.username == bindparam("username"))


def load_actor(uow: UnitOfWork, username: str) -> Actor:
    """The active user `username`, or Unauthenticated: one short read."""
    with uow.reading():
        row = uow.connection.execute(_BY_USERNAME, {"username": username}).one_or_none()
    if row is None or not row.active:
        raise Unauthenticated(f"用户「{username}」不存在或已停用。")
    return actor_from_row(row)
