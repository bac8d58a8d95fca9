"""Who works where: receiving offices, home departments, users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.workflow.roles import Role

from .base import Base, stored_enum


class Office(Base):
    """A receiving window (跨省通办专窗) in a service hall."""

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))  # GB/T 2260, e.g. 341702
    # How applicants reach the window (address, telephone), printed on its receipts.
    contact: Mapped[str] = mapped_column(String(200), default="")


class Department(Base):
    """A home-location authority (办理地/业务属地部门)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))


class DepartmentItem(Base):
    """An item a department handles: only these can be sent to it (routing)."""

    __tablename__ = "department_items"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, index=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(stored_enum(Role, 16))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    region_code: Mapped[str | None] = mapped_column(String(6))  # supervisors
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    office: Mapped[Office | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
