"""SQLAlchemy 2 typed models and the Alembic migrations."""

from .alerts import Alert, OutboxMessage, UnitActivity
from .audit import AuditEvent, Setting
from .base import Base
from .calendar import CalendarDay, CalendarYear
from .case import Case, CaseCounter, CaseFile, CaseMaterial
from .catalog import GuideVersion, Item
from .deadline import Deadline
from .document import CaseDocument
from .idempotency import IdempotencyKey
from .org import Department, DepartmentItem, Office, User
from .sessions import SignInThrottle, UserSession

__all__ = [
    "Alert",
    "AuditEvent",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Case",
    "CaseCounter",
    "CaseDocument",
    "CaseFile",
    "CaseMaterial",
    "Deadline",
    "Department",
    "DepartmentItem",
    "GuideVersion",
    "IdempotencyKey",
    "Item",
    "Office",
    "OutboxMessage",
    "Setting",
    "SignInThrottle",
    "UnitActivity",
    "User",
    "UserSession",
]
