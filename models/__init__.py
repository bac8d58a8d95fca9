"""SQLAlchemy 2 typed models and the Alembic migrations."""

from .audit import AuditEvent, Setting
from .base import Base
from .case import Case, CaseCounter, CaseMaterial
from .catalog import GuideVersion, Item
from .deadline import Deadline
from .org import ROLE_LABELS, Department, Office, Role, User

__all__ = [
    "ROLE_LABELS",
    "AuditEvent",
    "Base",
    "Case",
    "CaseCounter",
    "CaseMaterial",
    "Deadline",
    "Department",
    "GuideVersion",
    "Item",
    "Office",
    "Role",
    "Setting",
    "User",
]
