"""What a process needs to run use cases, built once at start-up (cosmicpython's bootstrap):
the settings, the engine and its sessions, the audit key, and the caches and the scheduler
that belong to this process and this database. Nothing of it lives in module globals, so
two runtimes in one process (tests, benchmarks) never see each other's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tongban.models.db import make_engine, make_session_factory, upgrade
from tongban.workflow.calendar import share_of

from ..audit.keys import AuditKey, ensure_audit_key, load_audit_key
from ..calendar.store import CalendarCache
from ..cases.statements import Statements
from ..files.blobs import BlobStore
from ..guides.store import GuideConfigs
from ..users.secret import load_session_secret
from .config import Settings
from .uow import UnitOfWork

if TYPE_CHECKING:
    from ..deadlines.scheduler import Sweeper
    from ..documents.seal import Seal


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key: AuditKey
    statements: Statements
    calendars: CalendarCache = field(default_factory=CalendarCache)
    guides: GuideConfigs = field(default_factory=GuideConfigs)
    sweeper: Sweeper | None = None  # the in-process deadline sweeper, when one runs
    # The session secret (CSRF and sign-in form tokens), read when first needed: a worker
    # that serves no pages never needs it. `tongban init` creates its file.
    loaded_session_secret: bytes | None = None
    seal: Seal | None = None  # the document seal, loaded on first use (services.documents)
    # The share of a stage's time after which it warns (预警), as the exact fraction meant.
    warning_share: Fraction = field(init=False)

    def __post_init__(self) -> None:
        self.warning_share = share_of(self.settings.warning_share)

    @property
    def session_secret(self) -> bytes:
        if self.loaded_session_secret is None:
            self.loaded_session_secret = load_session_secret(self.settings)
        return self.loaded_session_secret

    @cached_property
    def blobs(self) -> BlobStore:
        """The scanned materials' blob store (its directory made on first use)."""
        return BlobStore(self.settings.files_dir)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self)

    def close(self) -> None:
        """Stop the sweeper if one runs here, and close the database connections."""
        if self.sweeper is not None:
            self.sweeper.shutdown()
            self.sweeper = None
        self.engine.dispose()


def open_runtime(settings: Settings, *, init: bool = False, **engine_options: Any) -> Runtime:
    """Connect; with `init`, upgrade the schema to head and create the audit key if absent.
    `engine_options` go to SQLAlchemy's create_engine (the benchmarks watch the driver)."""
    engine_options.setdefault("pool_timeout", settings.db_pool_timeout_seconds)
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout_seconds,
        statement_timeout=settings.db_statement_timeout_seconds,
        **engine_options,
    )
    if init:
        upgrade(engine)
        key = ensure_audit_key(settings)
    else:
        key = load_audit_key(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        key=key,
        statements=Statements(engine.dialect),
    )
