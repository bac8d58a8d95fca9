"""Request and response models of the JSON API.

Every string a client sends is bounded in length and free of control characters (a NUL
would otherwise reach PostgreSQL and fail there), every number bounded, unknown fields
refused: bad input stops here with a 422 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Tab, newline and carriage return are fine in free text; other C0 controls and DEL are not.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _text(max_length: int, *, min_length: int = 0) -> StringConstraints:
    """Bounded length, no control characters."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)


Username = Annotated[str, _text(64, min_length=1)]
Password = Annotated[str, _text(128, min_length=1)]
Code = Annotated[str, _text(64, min_length=1)]
ItemCode = Annotated[str, _text(16, min_length=1)]
UnitCode = Annotated[str, _text(32, min_length=1)]
Name = Annotated[str, _text(200, min_length=1)]
IdNumber = Annotated[str, _text(18, min_length=1)]
Phone = Annotated[str, _text(32)]
Address = Annotated[str, _text(500)]
ShortText = Annotated[str, _text(100)]
TrackingNo = Annotated[str, _text(64)]
Reason = Annotated[str, _text(500)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]

DeliveryMethodIn = Literal["mail", "electronic", "window"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# --- session -------------------------------------------------------------------------------


class SessionIn(Input):
    username: Username
    password: Password


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_label: str
    unit: str
    office_code: str | None
    department_code: str | None
    region_code: str | None
    csrf_token: str = Field(description="For cookie sessions: send as X-CSRF-Token on changes.")
    session_expires_at: datetime


class SessionOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    csrf_token: str
    user: MeOut


# --- cases: reads --------------------------------------------------------------------------

_read = ConfigDict(from_attributes=True)


class ClockOut(BaseModel):
    model_config = _read
    stage: str
    stage_label: str
    owner_side: str
    owner_label: str
    status: Literal["running", "paused", "closed"]
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    due_date: date | None
    uncertain: bool = Field(description="Computed past the known calendar (日历未确认).")
    closed_at: datetime | None
    alert: Literal["warning", "overdue"] | None


class CaseRowOut(BaseModel):
    model_config = _read
    case_no: str
    item_code: str
    item_name: str
    state: str
    state_label: str
    final: bool
    applicant_name: str
    office_name: str
    department_name: str
    received_at: datetime
    updated_at: datetime
    version: int
    clock: ClockOut | None


class CaseListOut(BaseModel):
    model_config = _read
    rows: list[CaseRowOut]
    page: int
    per_page: int
    total: int
    pages: int


class MaterialOut(BaseModel):
    model_config = _read
    code: str
    name: str
    copies: int
    original_required: bool
    e_licence_verified: bool


class MaterialChoiceOut(BaseModel):
    model_config = _read
    code: str
    name: str
    required: bool
    original: bool
    e_licence: bool


class EventOut(BaseModel):
    model_config = _read
    seq: int
    at: datetime
    actor_name: str
    role: str
    role_label: str
    unit: str
    action: str
    action_label: str
    from_state: str | None
    from_label: str | None
    to_state: str | None
    to_label: str | None
    reasons: list[str]
    payload: dict[str, object]


class ActionOut(BaseModel):
    model_config = _read
    action: str
    label: str
    side: str
    delivery_methods: list[str]
    fields: list[str] = Field(default_factory=list, description="Body fields besides version.")


class CaseDetailOut(BaseModel):
    model_config = _read
    case_no: str
    version: int
    state: str
    state_label: str
    final: bool
    item_code: str
    item_name: str
    office_code: str
    office_name: str
    department_code: str
    department_name: str
    applicant_kind: str
    applicant_name: str
    applicant_id_masked: str
    contact_phone: str
    delivery_preference: str
    delivery_label: str
    delivery_address: str
    originals_required: bool
    originals_received_at: datetime | None
    decision: str | None
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sides: list[str]
    materials: list[MaterialOut]
    clocks: list[ClockOut]
    history: list[EventOut]
    actions: list[ActionOut]
    guide_materials: list[MaterialChoiceOut]
    missing_materials: list[str]


class CaseOut(BaseModel):
    """A case after a change: its number, state and the version to send next."""

    model_config = _read
    case_no: str
    state: str
    state_label: str
    version: int


# --- cases: changes ------------------------------------------------------------------------


class MaterialIn(Input):
    code: Code
    copies: Annotated[int, Field(ge=1, le=99)] = 1
    e_licence_verified: bool = False


class RegisterIn(Input):
    """收件登记."""

    item_code: ItemCode
    department_code: UnitCode
    applicant_kind: Literal["person", "company"]
    applicant_name: Name
    applicant_id_number: IdNumber
    delivery_preference: DeliveryMethodIn
    materials: Annotated[list[MaterialIn], Field(max_length=50)] = []
    contact_phone: Phone = ""
    delivery_address: Address = ""


class ActionIn(Input):
    """Every action body may carry the version the client saw (optimistic concurrency)."""

    version: Version | None = None


class NoFieldsIn(ActionIn):
    pass


class NoticeIn(ActionIn):
    notice_items: Annotated[list[Reason], Field(max_length=50)]


class SupplementIn(ActionIn):
    materials: Annotated[list[MaterialIn], Field(max_length=50)]


class ReasonsIn(ActionIn):
    reasons: Annotated[list[Reason], Field(max_length=20)]


class OptionalReasonsIn(ActionIn):
    reasons: Annotated[list[Reason], Field(max_length=20)] | None = None


class IdentityIn(ActionIn):
    document_number: IdNumber


class MailIn(ActionIn):
    carrier: ShortText
    tracking_no: TrackingNo


class DeliverIn(ActionIn):
    method: DeliveryMethodIn
    carrier: ShortText = ""
    tracking_no: TrackingNo = ""
