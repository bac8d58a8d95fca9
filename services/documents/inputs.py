"""What each document says, as typed values: the loader builds them from a case's stored
data and audit events; the render functions turn them into pages and read nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Party:
    """A person or legal person named on a document, the ID number masked."""

    role: str  # 申请人, 代办人, 经办人, 监护人
    name: str
    document_label: str
    document_masked: str
    note: str = ""  # 法定代表人..., 与申请人关系...


@dataclass(frozen=True)
class Header:
    """What every document of a case names."""

    title: str
    doc_no: str  # 文书编号: case number, kind code, source event
    issuer: str  # the issuing unit
    issued_at: datetime  # the time of the event the document renders
    case_no: str
    item_code: str
    item_name: str
    office_name: str
    department_name: str
    applicant: Party
    agent: Party | None
    received_at: datetime


@dataclass(frozen=True)
class MaterialLine:
    name: str
    copies: int
    form: str  # 纸质, or 电子文件 N 个
    original: str  # what happens to the original: 须寄递原件审查, 电子证照已核验, —


@dataclass(frozen=True)
class LimitLine:
    stage: str
    days: int
    note: str = ""


@dataclass(frozen=True)
class Receipt:
    header: Header
    clerk: str
    window_contact: str
    materials: tuple[MaterialLine, ...]
    limits: tuple[LimitLine, ...]
    delivery: str
    contact_phone: str
    lookup_code: str
    lookup_url: str


@dataclass(frozen=True)
class NoticeLine:
    material: str
    reason: str


@dataclass(frozen=True)
class SupplementNotice:
    header: Header
    clerk: str
    window_contact: str
    lines: tuple[NoticeLine, ...]
    days: int  # 补正期限, working days from receiving the notice


@dataclass(frozen=True)
class DeclineNotice:
    header: Header
    clerk: str
    window_contact: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class NotAcceptedNotice:
    header: Header
    reviewer: str
    reasons: tuple[str, ...]
    legal_basis: str
    remedies: str
    review_days: int
    litigation_months: int


@dataclass(frozen=True)
class SlipLine:
    name: str
    copies: int
    original: bool  # the original travels (else a copy)
    note: str


@dataclass(frozen=True)
class TransferSlip:
    header: Header
    sender: str
    sender_unit: str
    receiver_unit: str
    lines: tuple[SlipLine, ...]
    carrier: str
    tracking_no: str


@dataclass(frozen=True)
class Delivery:
    method: str
    carrier: str
    tracking_no: str
    at: datetime
    by: str


@dataclass(frozen=True)
class DecisionNotice:
    header: Header
    reviewer: str
    decided_at: datetime
    accepted_at: datetime | None
    approved: bool
    decision_label: str
    reasons: tuple[str, ...]
    remedies: str  # told with a refusal; empty with an approval
    delivery_preference: str
    delivery_address: str
    delivery: Delivery | None


@dataclass(frozen=True)
class HistoryLine:
    seq: int
    at: datetime
    actor: str
    role: str
    unit: str
    action: str
    from_state: str
    to_state: str
    reasons: tuple[str, ...]
    details: tuple[str, ...]  # what the event recorded: 运单号, SHA-256 of a document...


@dataclass(frozen=True)
class History:
    header: Header
    state: str
    events: tuple[HistoryLine, ...]
    chain_ok: bool
    chain_text: str


Document = (
    Receipt
    | SupplementNotice
    | DeclineNotice
    | NotAcceptedNotice
    | TransferSlip
    | DecisionNotice
    | History
)
