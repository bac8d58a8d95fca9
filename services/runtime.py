"""What a process needs to run use cases: the engine, sessions and the audit key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tongban.models.db import make_engine, make_session_factory, upgrade

from .audit import AuditKey, ensure_audit_key, load_audit_key
from .config import Settings
from .uow import UnitOfWork


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key: AuditKey

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)


def open_runtime(settings: Settings, *, init: bool = False) -> Runtime:
    """Connect; with `init`, upgrade the schema to head and create the audit key if absent."""
    engine = make_engine(settings.database_url)
    if init:
        upgrade(engine)
        key, _created = ensure_audit_key(settings)
    else:
        key = load_audit_key(settings)
    return Runtime(settings, engine, make_session_factory(engine), key)
