"""Cases (办件), the materials handed in with them, and the case-number counters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.holds import Hold
from tongban.workflow.identity import ApplicantKind, DocumentType
from tongban.workflow.modes import CaseMode
from tongban.workflow.parties import AgentRole
from tongban.workflow.states import State

from .base import Base, stored_enum


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(48), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    guide_version_id: Mapped[int | None] = mapped_column(ForeignKey("guide_versions.id"))
    mode: Mapped[CaseMode] = mapped_column(stored_enum(CaseMode, 16), default=CaseMode.PROXY)
    state: Mapped[State] = mapped_column(stored_enum(State, 32))
    # Optimistic concurrency: every change moves the version, and every UPDATE carries
    # `WHERE version = <read>`: a stale writer updates no row and writes nothing instead of
    # overwriting. A person's action also carries the version they saw, refused if it moved.
    version: Mapped[int] = mapped_column(default=1)

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))

    applicant_kind: Mapped[ApplicantKind] = mapped_column(stored_enum(ApplicantKind, 16))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_document_type: Mapped[DocumentType] = mapped_column(
        stored_enum(DocumentType, 24), default=DocumentType.RESIDENT_ID
    )
    applicant_id_number: Mapped[str] = mapped_column(String(18))
    legal_representative: Mapped[str] = mapped_column(String(100), default="")  # 法定代表人
    # The person who appears for the applicant (代办人, a company's 经办人, 监护人), if any.
    agent_role: Mapped[AgentRole | None] = mapped_column(stored_enum(AgentRole, 16))
    agent_name: Mapped[str] = mapped_column(String(100), default="")
    agent_document_type: Mapped[DocumentType | None] = mapped_column(stored_enum(DocumentType, 24))
    agent_document_number: Mapped[str] = mapped_column(String(18), default="")
    agent_phone: Mapped[str] = mapped_column(String(32), default="")
    agent_relationship: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    delivery_preference: Mapped[DeliveryMethod] = mapped_column(stored_enum(DeliveryMethod, 16))
    delivery_address: Mapped[str] = mapped_column(Text, default="")

    originals_required: Mapped[bool] = mapped_column(default=False)
    originals_received_at: Mapped[datetime | None]
    originals_returned_at: Mapped[datetime | None]  # 原件退还
    decision: Mapped[str | None] = mapped_column(String(16))  # approved | refused
    # Time that does not count (workflow.holds): the hold lasting now, since when, and when
    # it is expected to end (特别程序's expected days, the applicant's 补正期限).
    hold: Mapped[Hold | None] = mapped_column(stored_enum(Hold, 16))
    hold_since: Mapped[datetime | None]
    hold_until: Mapped[datetime | None]
    received_at: Mapped[datetime]
    # Set by the first forward: from then on the home department sees the case.
    forwarded_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    # Head of the per-case audit chain: deleting the last event leaves the head pointing
    # at a MAC that no remaining event carries, so `audit verify` sees the cut.
    audit_seq: Mapped[int] = mapped_column(default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")

    # The receipt's lookup code (查询码), set when the receipt is first issued: a random
    # nonce it is derived from under the deployment key, and the code's scrypt hash (what a
    # lookup checks, without the key).
    lookup_nonce: Mapped[str | None] = mapped_column(String(32))
    lookup_hash: Mapped[str | None] = mapped_column(String(64))

    materials: Mapped[list[CaseMaterial]] = relationship(
        back_populates="case", order_by="CaseMaterial.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_cases_office_state", "office_id", "state"),
        Index("ix_cases_department_state", "department_id", "state"),
    )


class CaseMaterial(Base):
    """A material handed in (or owed) for a case, as checked against the guide."""

    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    copies: Mapped[int] = mapped_column(default=1)
    original_required: Mapped[bool] = mapped_column(default=False)
    e_licence_verified: Mapped[bool] = mapped_column(default=False)
    # The electronic licence's number (电子证照编号) when one verified the material.
    licence_no: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    case: Mapped[Case] = relationship(back_populates="materials")


class CaseFile(Base):
    """A scanned file uploaded into one of the guide's material slots of a case. The bytes
    live in the blob store under their SHA-256 (services.files); this row says whose, what
    and when. Two rows may share a blob (the same scan uploaded twice)."""

    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    slot: Mapped[str] = mapped_column(String(64))  # the material's code in the guide
    name: Mapped[str] = mapped_column(String(255))  # as uploaded, path parts removed
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int | None]  # PDF page count
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploader_name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]


class CaseCounter(Base):
    """Per office and day, the last sequence number handed out (unique across app instances)."""

    __tablename__ = "case_counters"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
