"""Who works in the system, and which side of a case each role works on."""

from __future__ import annotations

from enum import StrEnum

from .states import Side


class Role(StrEnum):
    CLERK = "clerk"  # 窗口人员
    REVIEWER = "reviewer"  # 属地审批人员
    SUPERVISOR = "supervisor"  # 督查人员
    ADMIN = "admin"


ROLE_LABELS: dict[Role, str] = {
    Role.CLERK: "窗口人员",
    Role.REVIEWER: "属地审批人员",
    Role.SUPERVISOR: "督查人员",
    Role.ADMIN: "系统管理员",
}

# The roles that act on cases, and the side each acts for. Supervisors and the admin read.
ROLE_SIDE: dict[Role, Side] = {Role.CLERK: Side.WINDOW, Role.REVIEWER: Side.HOME}
SIDE_ROLE: dict[Side, Role] = {side: role for role, side in ROLE_SIDE.items()}
