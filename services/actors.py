"""Who is acting, and what their role lets them see and do (scope)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tongban.models import Case, Department, Office, Role, User
from tongban.workflow.states import ACTION_LABELS, ACTION_SIDE, Action, Side

from .errors import ScopeDenied, Unauthenticated


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


def load_actor(session: Session, username: str) -> Actor:
    user = session.query(User).filter_by(username=username).one_or_none()
    if user is None or not user.active:
        raise Unauthenticated(f"用户「{username}」不存在或已停用。")
    return actor_of(user)


def region_prefix(region_code: str) -> str:
    """341700 (a city) covers 3417xx; 340000 (a province) covers 34xxxx."""
    prefix = region_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def _in_region(session: Session, actor: Actor, case: Case) -> bool:
    if not actor.region_code:
        return False
    prefix = region_prefix(actor.region_code)
    office = session.get(Office, case.office_id)
    department = session.get(Department, case.department_id)
    return any(
        unit is not None and unit.region_code.startswith(prefix) for unit in (office, department)
    )


def sides_of(actor: Actor, case: Case) -> set[Side]:
    """The sides of this case the actor works on (empty when it is not theirs)."""
    if actor.role is Role.CLERK and case.office_id == actor.office_id:
        return {Side.WINDOW}
    if actor.role is Role.REVIEWER and case.department_id == actor.department_id:
        return {Side.HOME}
    return set()


def check_can_read(session: Session, actor: Actor, case: Case) -> None:
    if actor.role is Role.ADMIN or sides_of(actor, case):
        return
    if actor.role is Role.SUPERVISOR and _in_region(session, actor, case):
        return
    raise ScopeDenied(f"本件（{case.case_no}）不在您的工作范围内，无权查看。")


def side_for_action(actor: Actor, case: Case, action: Action) -> Side:
    """The side the actor takes this action for, or ScopeDenied saying why not."""
    if actor.role in (Role.SUPERVISOR, Role.ADMIN):
        raise ScopeDenied("督查人员和系统管理员只能查看案件，不能办理。")
    sides = sides_of(actor, case)
    if not sides:
        raise ScopeDenied(f"本件（{case.case_no}）不是本单位的案件，无权办理。")
    needed = ACTION_SIDE[action]
    side = next(iter(sides))
    if needed is not Side.EITHER and needed is not side:
        where = "收件窗口" if needed is Side.WINDOW else "办理地部门"
        raise ScopeDenied(f"「{ACTION_LABELS[action]}」由{where}办理。")
    return side
