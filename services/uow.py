"""The unit of work: one transaction per user action, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from tongban.models import AuditEvent

from .errors import StaleVersion

_STALE_MESSAGE = "本件已被他人更新，您看到的不是最新版本。请刷新后重新操作。"

# The audit chain's (case_id, seq) uniqueness. Two transactions that read the same case
# version both append event `audit_seq + 1`; when the flush inserts the event before it
# updates the case row, the loser meets this constraint before the version check.
_CHAIN_SEQ = next(
    c.name
    for c in AuditEvent.metadata.tables[AuditEvent.__tablename__].constraints
    if isinstance(c, UniqueConstraint) and {col.name for col in c.columns} == {"case_id", "seq"}
)


def _chain_conflict(err: IntegrityError) -> bool:
    diag = getattr(err.orig, "diag", None)  # psycopg names the violated constraint
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return bool(name == _CHAIN_SEQ)
    return "audit_events.case_id, audit_events.seq" in str(err.orig)  # SQLite's wording


class UnitOfWork:
    """`with uow: ...; uow.commit()` — leaving the block without commit() rolls back, so a
    forgotten commit loses nothing silently and an exception never half-writes."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        """Commit; a concurrent update of the same case (version or audit chain) is StaleVersion."""
        try:
            self.session.commit()
        except StaleDataError as err:
            raise StaleVersion(_STALE_MESSAGE) from err
        except IntegrityError as err:
            if _chain_conflict(err):
                raise StaleVersion(_STALE_MESSAGE) from err
            raise
