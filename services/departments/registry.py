"""Home departments and the items each declares it handles: a case can only be sent, or
handed over (转办), to a department that handles its item."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tongban.models import Department, DepartmentItem, Item
from tongban.workflow.regions import city_of, province_of

from ..core.errors import Conflict, InvalidInput, NotFound
from ..core.uow import UnitOfWork

log = structlog.get_logger("tongban.departments")

_CODE = re.compile(r"^[A-Z0-9]{2,32}$")
_REGION = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class DepartmentView:
    code: str
    name: str
    region_code: str
    province: str
    city_code: str
    items: tuple[str, ...]  # item codes it handles, in catalog order


class DepartmentNotFound(NotFound):
    code = "department.not_found"


def add_department(uow: UnitOfWork, *, code: str, name: str, region_code: str) -> DepartmentView:
    """A new home department; it handles no item until it declares some."""
    code, name, region_code = code.strip().upper(), name.strip(), region_code.strip()
    if not _CODE.match(code):
        raise InvalidInput("部门编码：应为2至32位大写字母或数字，如 RS320102。", field="code")
    if not name or len(name) > 200:
        raise InvalidInput("部门名称：请填写（最多200字）。", field="name")
    if not _REGION.match(region_code) or province_of(region_code) is None:
        raise InvalidInput(
            f"行政区划代码：「{region_code}」不是有效的6位行政区划代码（GB/T 2260）。",
            field="region_code",
        )
    with uow:
        session = uow.session
        if session.scalar(select(Department.id).where(Department.code == code)) is not None:
            raise Conflict(f"部门编码：「{code}」已存在。", code="department.exists")
        session.add(Department(code=code, name=name, region_code=region_code))
        uow.commit()
    log.info("department.add", department=code, region=region_code)
    return _view(Department(code=code, name=name, region_code=region_code), ())


def declare_items(
    uow: UnitOfWork, code: str, item_codes: Sequence[str], *, remove: bool = False
) -> DepartmentView:
    """Declare (or, with `remove`, withdraw) the items a department handles."""
    with uow:
        session = uow.session
        department = _department(session, code)
        wanted = [c.strip() for c in item_codes if c.strip()]
        if not wanted:
            raise InvalidInput("事项编码：请至少给出一个事项编码，如 1-01。", field="items")
        found = dict(session.execute(select(Item.code, Item.id).where(Item.code.in_(wanted))).all())
        unknown = [c for c in wanted if c not in found]
        if unknown:
            raise InvalidInput(f"事项编码：目录中没有事项「{'、'.join(unknown)}」。", field="items")
        have = set(
            session.scalars(
                select(DepartmentItem.item_id).where(DepartmentItem.department_id == department.id)
            )
        )
        ids = {found[c] for c in wanted}
        if remove:
            session.execute(
                delete(DepartmentItem).where(
                    DepartmentItem.department_id == department.id,
                    DepartmentItem.item_id.in_(ids & have),
                )
            )
        else:
            session.add_all(
                DepartmentItem(department_id=department.id, item_id=i) for i in ids - have
            )
        uow.commit()
    log.info("department.items", department=code, items=wanted, removed=remove)
    (view,) = list_departments(uow, code=department.code)
    return view


def list_departments(
    uow: UnitOfWork, *, item_code: str | None = None, code: str | None = None
) -> list[DepartmentView]:
    """Departments by province, city and code, each with its items; with `item_code`, only
    those that handle it."""
    with uow.reading():
        session = uow.session
        stmt = select(Department).order_by(Department.region_code, Department.code)
        if code is not None:
            stmt = stmt.where(Department.code == code)
        if item_code is not None:
            stmt = stmt.where(
                Department.id.in_(
                    select(DepartmentItem.department_id)
                    .join(Item, Item.id == DepartmentItem.item_id)
                    .where(Item.code == item_code)
                )
            )
        departments = list(session.scalars(stmt))
        routes = session.execute(
            select(DepartmentItem.department_id, Item.code)
            .join(Item, Item.id == DepartmentItem.item_id)
            .where(DepartmentItem.department_id.in_([d.id for d in departments]))
            .order_by(Item.batch, Item.seq)
        ).all()
    items: dict[int, list[str]] = {}
    for department_id, item in routes:
        items.setdefault(department_id, []).append(item)
    return [_view(d, tuple(items.get(d.id, ()))) for d in departments]


def _department(session: Session, code: str) -> Department:
    found = session.scalars(select(Department).where(Department.code == code.strip())).first()
    if found is None:
        raise DepartmentNotFound(
            f"部门编码：没有部门「{code}」。请用 tongban departments list 查看。"
        )
    return found


def _view(d: Department, items: tuple[str, ...]) -> DepartmentView:
    return DepartmentView(
        code=d.code,
        name=d.name,
        region_code=d.region_code,
        province=province_of(d.region_code) or "",
        city_code=city_of(d.region_code),
        items=items,
    )
