"""What the case use cases hand back: read models shaped for the API and the workbench."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from tongban.workflow.excluded import Excluded
from tongban.workflow.states import STATE_LABELS, State

from ..deadlines.alerts import AlertState

if TYPE_CHECKING:
    from .store import CaseMove


@dataclass(frozen=True)
class CaseView:
    """A case after a change: its number, state and the version to send next."""

    case_no: str
    state: str
    state_label: str
    version: int
    originals_required: bool
    audit_seq: int

    @classmethod
    def of(cls, case_no: str, state: State, version: int, move: CaseMove) -> CaseView:
        return cls(
            case_no=case_no,
            state=state.value,
            state_label=STATE_LABELS[state],
            version=version,
            originals_required=move.originals_required,
            audit_seq=move.seq,
        )


@dataclass(frozen=True)
class DeadlineView:
    """One stage's deadline (办理时限) and where it stands at `now`."""

    stage: str
    stage_label: str
    owner_side: str
    owner_label: str
    status: str  # running | paused | closed
    status_label: str
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    due_date: date | None
    uncertain: bool  # computed past the calendar the system knows (日历未确认)
    closed_at: datetime | None
    # running: warning/overdue at `now`; stopped: overdue when it used more than its limit.
    alert: AlertState | None
    time_left: str | None  # 剩余 2 个工作日 / 今日到期 / 已超期 3 个工作日, while running


@dataclass(frozen=True)
class CaseRow:
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
    deadline: DeadlineView | None  # the open (running or paused) deadline, if any


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    page: int
    per_page: int
    total: int
    pages: int  # at least 1, so "page 1 of 1" reads right when nothing is found


@dataclass(frozen=True)
class MaterialView:
    code: str
    name: str
    copies: int
    original_required: bool
    e_licence_verified: bool
    licence_no: str = ""


@dataclass(frozen=True)
class FileView:
    """A scanned file of a case: what it is, whose, and where to fetch it."""

    slot: str  # the material's code in the guide
    slot_name: str
    name: str
    size: int
    media_type: str
    pages: int | None
    sha256: str
    uploaded_by: str
    unit: str
    uploaded_at: datetime
    url: str
    inline: bool  # shown in the page (PDF, images); otherwise a download (OFD)


@dataclass(frozen=True)
class EventView:
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
    payload: dict[str, Any]


@dataclass(frozen=True)
class ActionOption:
    """An action the actor could take now (a check on their input may still refuse it)."""

    action: str
    label: str
    side: str
    # The input the action takes, by field name (besides the version).
    fields: tuple[str, ...] = ()
    # For `deliver`: the methods this side may use, in DeliveryMethod order.
    delivery_methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseDetail:
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
    applicant_document_label: str
    legal_representative: str
    agent: AgentView | None
    contact_phone: str
    delivery_preference: str
    delivery_label: str
    delivery_address: str
    originals_required: bool
    originals_received_at: datetime | None
    originals_returned_at: datetime | None
    decision: str | None
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sides: tuple[str, ...]  # the sides of this case the actor works on
    materials: list[MaterialView]
    deadlines: list[DeadlineView]
    history: list[EventView]
    actions: list[ActionOption]
    # From the case's guide version: every material it lists, and the required ones not yet
    # handed in (what a one-time notice would list).
    guide_materials: list[MaterialChoice]
    missing_materials: list[str]
    # Where 转办 may send the case, when it is offered: every other department.
    transfer_targets: list[UnitChoice]
    # The hold lasting now (中止, 特别程序, 受理后补正), and every interval not counted.
    hold: HoldView | None = None
    excluded: list[Excluded] = field(default_factory=list)
    # The scanned files (in upload order), the required materials a forward would send
    # without a scan (none uploaded, no licence), and whether the actor may upload now.
    files: list[FileView] = field(default_factory=list)
    unscanned: list[str] = field(default_factory=list)
    can_upload: bool = False


@dataclass(frozen=True)
class HoldView:
    """The hold a case is in: the decision clock stands still until it ends."""

    hold: str
    label: str
    since: datetime
    until: datetime | None  # a special procedure's expected end, the applicant's 补正期限
    # 预计剩余 2 个工作日 / 预计今日届满 / 已超出预计 1 个工作日, before or past `until`
    time_left: str | None


@dataclass(frozen=True)
class AgentView:
    """Who appeared for the applicant (代办人, 经办人, 监护人), the ID masked."""

    role: str
    role_label: str
    name: str
    document_label: str
    document_masked: str
    phone: str
    relationship: str


@dataclass(frozen=True)
class MaterialChoice:
    code: str
    name: str
    required: bool
    original: bool
    e_licence: bool
    paper: bool = False  # may travel on paper only, with no scan


@dataclass(frozen=True)
class ItemChoice:
    code: str
    name: str
    guide_version: int
    materials: tuple[MaterialChoice, ...]
    results: tuple[str, ...]
    # The departments that handle the item, by region (province, then city, then code).
    departments: tuple[UnitChoice, ...] = ()
    guide_status: str = "complete"  # "default": the clerk confirms receiving under it


@dataclass(frozen=True)
class UnitChoice:
    code: str
    name: str
    region_code: str
    province: str = ""


@dataclass(frozen=True)
class RegistrationChoices:
    """What a clerk picks from when registering: items with a guide, each with the home
    departments that handle it."""

    items: list[ItemChoice]
