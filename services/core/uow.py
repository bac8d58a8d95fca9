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

from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from sqlalchemy import Connection, PoolProxiedConnection, RootTransaction, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tongban.models import AuditEvent
from tongban.models.db import TRANSACTION

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


def chain_conflict(err: BaseException) -> bool:
    """Whether `err` (SQLAlchemy's IntegrityError or the driver's) is two writers appending
    the same event number to one case."""
    orig = getattr(err, "orig", err)
    diag = getattr(orig, "diag", None)  # psycopg names the violated constraint
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return bool(name == _CHAIN_SEQ)
    return "audit_events.case_id, audit_events.seq" in str(orig)  # SQLite's wording


class UnitOfWork:
    """`with uow: ...; uow.commit()`."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._mode: Literal["default", "reading", "batching"] = "default"
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._session: Session | None = None
        # Batching: the pool's driver connection the write path's statements run on.
        self._raw: PoolProxiedConnection | None = None
        self._committed = False

    def __enter__(self) -> Self:
        self._committed = False
        if self._mode == "batching":
            self._raw = self.rt.engine.raw_connection()
            if self.rt.engine.dialect.name == "sqlite":
                self.driver.execute("BEGIN IMMEDIATE")
        else:
            self._connection = self._connect("read" if self._mode == "reading" else "write")
            self._transaction = self._connection.begin()
        return self

    def _connect(self, kind: str) -> Connection:
        connection = self.rt.engine.connect()
        if kind != "write":
            connection.execution_options(**{TRANSACTION: kind})
        return connection

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
            if self._raw is not None and not self._committed:
                self._end_raw(exc)
        finally:
            if self._connection is not None:
                self._connection.close()
            if self._raw is not None:
                self._raw.close()
            self._connection = self._transaction = self._session = self._raw = None
            self._mode = "default"  # the next `with uow:` is an ordinary one

    def _end_raw(self, exc: BaseException | None) -> None:
        """Roll back what the write path left open; a connection the database dropped is
        thrown away rather than given back to the pool."""
        assert self._raw is not None
        dialect = self.rt.engine.dialect
        if isinstance(exc, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
            exc, self._raw, None
        ):
            self._raw.invalidate(exc)
            return
        self.driver.rollback()

    def reading(self) -> Self:
        """`with uow.reading():` for a use case that only reads. It takes no write lock
        (SQLite: a deferred transaction, a snapshot beside the writer) and no transaction
        at all on PostgreSQL, where each statement reads committed data either way (READ
        COMMITTED) and BEGIN and ROLLBACK would be two more round trips."""
        self._mode = "reading"
        return self

    def batching(self) -> Self:
        """`with uow.batching():` for the case write path (services.cases.store), which
        runs its statements on the driver connection (`uow.driver`) without SQLAlchemy's
        connection bookkeeping. On PostgreSQL they begin and end their own transaction
        (`explicit_transaction`): an action is a read, then one statement that writes and
        commits. On SQLite it is the ordinary writing transaction. The ORM session of a
        batching unit of work only reads, on a connection of its own."""
        self._mode = "batching"
        return self

    @property
    def explicit_transaction(self) -> bool:
        """Whether the statements of this unit of work begin and end its transaction."""
        return self._raw is not None and self.rt.engine.dialect.name == "postgresql"

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            if self._raw is None:
                raise RuntimeError("the unit of work is not open: use `with uow:`")
            self._connection = self._connect("read")
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session on this unit of work's transaction (batching: a reading one)."""
        if self._session is None:
            self._session = self.rt.sessions(bind=self.connection)
        return self._session

    @property
    def driver(self) -> Any:
        """The driver connection (psycopg or sqlite3) of this unit of work's transaction."""
        if self._raw is not None:
            return self._raw.driver_connection
        return self.connection.connection.driver_connection

    def commit(self) -> None:
        """Commit; a concurrent update of the same case (version or audit chain) is StaleVersion."""
        try:
            if self._raw is not None:
                self._commit_raw()
                return
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

    def _commit_raw(self) -> None:
        session = self._session
        if session is not None and (session.new or session.dirty or session.deleted):
            raise RuntimeError("a batching unit of work writes through its statements only")
        # SQLite: the BEGIN IMMEDIATE transaction. PostgreSQL: what the statements left
        # open, if anything (the driver sends COMMIT only inside a transaction).
        self.driver.commit()
        self._committed = True
