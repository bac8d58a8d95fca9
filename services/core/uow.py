"""The unit of work: one transaction per use case, rolled back unless committed.

Every public use case takes one. Entering it checks a connection out of the runtime's pool
and begins a transaction (see `reading()` for a use case that only reads); leaving it
without `commit()` rolls back, so a forgotten commit loses nothing silently and an
exception never half-writes. A use case that needs several
transactions (the sweeper's batches) enters the same unit of work once per transaction.

Inside, `uow.session` is an ORM session on that transaction, made on first use; the case
write path uses `uow.driver`, the driver connection of the same transaction, and never pays
for a session it does not need. The runtime it came from gives the settings, the audit key
and the caches (`uow.rt`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Connection, RootTransaction, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tongban.models import AuditEvent
from tongban.models.db import READ_ONLY

from .errors import StaleVersion

if TYPE_CHECKING:
    from .runtime import Runtime

STALE_MESSAGE = "本件已被他人更新，您看到的不是最新版本。请刷新后重新操作。"

# The audit chain's (case_id, seq) uniqueness. Two transactions that read the same case
# version both append event `audit_seq + 1`; the loser may meet this constraint before the
# version check.
_CHAIN_SEQ = next(
    c.name
    for c in AuditEvent.metadata.tables[AuditEvent.__tablename__].constraints
    if isinstance(c, UniqueConstraint) and {col.name for col in c.columns} == {"case_id", "seq"}
)


def chain_conflict(err: IntegrityError) -> bool:
    """Whether `err` is two writers appending the same event number to one case."""
    diag = getattr(err.orig, "diag", None)  # psycopg names the violated constraint
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return bool(name == _CHAIN_SEQ)
    return "audit_events.case_id, audit_events.seq" in str(err.orig)  # SQLite's wording


class UnitOfWork:
    """`with uow: ...; uow.commit()`."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._read_only = False
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._session: Session | None = None

    def __enter__(self) -> Self:
        self._connection = self.rt.engine.connect()
        if self._read_only:
            self._connection.execution_options(**self._reading_options())
        self._transaction = self._connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._session is not None:
                self._session.close()
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._transaction = self._session = None

    @contextmanager
    def reading(self) -> Iterator[Self]:
        """`with uow.reading():` for a use case that only reads. It takes no write lock
        (SQLite: a deferred transaction, a snapshot beside the writer) and no transaction
        at all on PostgreSQL, where each statement reads committed data either way (READ
        COMMITTED) and BEGIN and ROLLBACK would be two more round trips."""
        self._read_only = True
        try:
            with self:
                yield self
        finally:
            self._read_only = False

    def _reading_options(self) -> dict[str, Any]:
        if self.rt.engine.dialect.name == "postgresql":
            return {"isolation_level": "AUTOCOMMIT"}
        return {READ_ONLY: True}

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use `with uow:`")
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session joined to this unit of work's transaction."""
        if self._session is None:
            self._session = self.rt.sessions(bind=self.connection)
        return self._session

    @property
    def driver(self) -> Any:
        """The driver connection (psycopg or sqlite3) of this unit of work's transaction."""
        return self.connection.connection.driver_connection

    def commit(self) -> None:
        """Commit; a concurrent update of the same case (version or audit chain) is StaleVersion."""
        try:
            if self._session is not None:
                self._session.flush()
            assert self._transaction is not None
            self._transaction.commit()
        except StaleDataError as err:
            raise StaleVersion(STALE_MESSAGE) from err
        except IntegrityError as err:
            if chain_conflict(err):
                raise StaleVersion(STALE_MESSAGE) from err
            raise
