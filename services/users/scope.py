"""What an actor may see and do: a clerk its office's cases (window side), a reviewer the
cases forwarded to its department (home side; before the forward the case does not exist
for it), a supervisor what its region received or handles, the admin everything.
Supervisors and the admin read; they never act on cases.

A case outside the actor's scope is "not found", exactly like a case number that does not
exist, so that case numbers cannot be discovered by trying them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from tongban.models import Department, Office
from tongban.workflow.roles import ROLE_SIDE, Role
from tongban.workflow.states import SIDE_LABELS, Side

from ..core.errors import CaseNotFound, ScopeDenied
from .actors import Actor


class Placed(Protocol):
    """A case as scope sees it: where it was received and where it is handled."""

    @property
    def case_no(self) -> str: ...
    @property
    def office_id(self) -> int: ...
    @property
    def department_id(self) -> int: ...
    @property
    def forwarded_at(self) -> datetime | None: ...


def region_prefix(region_code: str) -> str:
    """341700 (a city) covers 3417xx; 340000 (a province) covers 34xxxx."""
    prefix = region_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def side_of(actor: Actor, case: Placed) -> Side | None:
    """The side of this case the actor works on, or None when it is not theirs."""
    if actor.role is Role.CLERK and case.office_id == actor.office_id:
        return Side.WINDOW
    if (
        actor.role is Role.REVIEWER
        and case.department_id == actor.department_id
        and case.forwarded_at is not None
    ):
        return Side.HOME
    return None


def _in_region(session: Session, actor: Actor, case: Placed) -> bool:
    if not actor.region_code:
        return False
    prefix = region_prefix(actor.region_code)
    office = session.get(Office, case.office_id)
    department = session.get(Department, case.department_id)
    return any(
        unit is not None and unit.region_code.startswith(prefix) for unit in (office, department)
    )


def check_can_read(session: Session, actor: Actor, case: Placed) -> None:
    if actor.role is Role.ADMIN or side_of(actor, case) is not None:
        return
    if actor.role is Role.SUPERVISOR and _in_region(session, actor, case):
        return
    raise out_of_scope(case.case_no)


def out_of_scope(case_no: str) -> CaseNotFound:
    """The same answer as for a case number that does not exist."""
    return CaseNotFound(f"办件「{case_no}」不存在，请核对办件编号。")


def side_for(actor: Actor, case: Placed, needed: Side, label: str) -> Side:
    """The side the actor takes action `label` (for side `needed`) on, or ScopeDenied."""
    if actor.role not in ROLE_SIDE:
        raise ScopeDenied("督查人员和系统管理员只能查看办件，不能办理。")
    side = side_of(actor, case)
    if side is None:
        raise out_of_scope(case.case_no)
    if needed is not Side.EITHER and needed is not side:
        raise ScopeDenied(f"「{label}」由{SIDE_LABELS[needed]}办理。")
    return side
