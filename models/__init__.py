"""SQLAlchemy 2 typed models and the Alembic migrations."""

from .alerts import Alert, OutboxMessage, UnitActivity
from .audit import AuditEvent, Setting
from .base import Base
from .calendar import CalendarDay, CalendarYear
from .case import Case, CaseCounter, CaseFile, CaseMaterial
from .catalog import GuideVersion, Item
from .deadline import Deadline
from .org import Department, DepartmentItem, Office, User

__all__ = [
    "Alert",
    "AuditEvent",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Case",
    "CaseCounter",
    "CaseFile",
    "CaseMaterial",
    "Deadline",
    "Department",
    "DepartmentItem",
    "GuideVersion",
    "Item",
    "Office",
    "OutboxMessage",
    "Setting",
    "UnitActivity",
    "User",
]
