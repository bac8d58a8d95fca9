"""Documents (文书) issued for a case: which paper, from which event, with its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CaseDocument(Base):
    """A document first issued for a case: its kind, the audit event it renders (`source_seq`:
    the receipt's receive, the notice's request...), and the SHA-256 of its unsigned,
    deterministic render, which re-rendering the same case reproduces. `blob` is where the
    sealed bytes are kept, once a store holds them (the materials blob store)."""

    __tablename__ = "case_documents"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_seq: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    issue_seq: Mapped[int]  # the audit event that records the issue
    blob: Mapped[str | None] = mapped_column(String(128))
