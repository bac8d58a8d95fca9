"""The unit of work: one transaction per user action, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .errors import StaleVersion


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
        try:
            self.session.commit()
        except StaleDataError as err:
            raise StaleVersion(
                "本件已被他人更新，您看到的不是最新版本。请刷新后重新操作。"
            ) from err
