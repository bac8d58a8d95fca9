"""Read-only use cases: what a person may see of the cases, shaped for the API and workbench.

Every read is scoped by the actor (services.actors): a clerk sees its office's cases, a
reviewer its department's, a supervisor what its region received or handles, an admin all.
Alerts (预警/超期) are computed here from the `now` the caller passes in, never in templates.
Each read costs a fixed number of queries, whatever the page size or history length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, case, false, func, or_, select

from tongban.models import (
    ROLE_LABELS,
    AuditEvent,
    Case,
    Deadline,
    Department,
    GuideVersion,
    Item,
    Office,
    Role,
)
from tongban.workflow.calendar import due_date
from tongban.workflow.guards import (
    ActionInput,
    CaseFacts,
    delivery_fits_side,
    originals_in_hand,
    originals_needed,
)
from tongban.workflow.guide import missing_materials, parse_config
from tongban.workflow.identity import mask
from tongban.workflow.machine import available_actions
from tongban.workflow.stages import STAGE_LABELS, Stage
from tongban.workflow.states import (
    ACTION_LABELS,
    DELIVERY_LABELS,
    FINAL_STATES,
    STATE_LABELS,
    Action,
    DeliveryMethod,
    Side,
    State,
)

from .actors import Actor, check_can_read, region_prefix, sides_of
from .deadlines import AlertState, clock_alert
from .errors import CaseNotFound, InvalidInput
from .guides import config_of
from .uow import UnitOfWork

PER_PAGE = 20
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 100

# The audit chain also records the receipt, which is no workflow action.
EVENT_LABELS: dict[str, str] = {
    "receive": "收件登记",
    **{a.value: label for a, label in ACTION_LABELS.items()},
}
SIDE_LABELS: dict[Side, str] = {
    Side.WINDOW: "收件窗口",
    Side.HOME: "办理地部门",
    Side.EITHER: "任一方",
}
_ROLE_LABELS: dict[str, str] = {r.value: label for r, label in ROLE_LABELS.items()} | {
    "system": "系统"
}


# --- read models -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockView:
    """One stage clock (办理时限) and where it stands at `now`."""

    stage: str
    stage_label: str
    owner_side: str
    owner_label: str
    status: str  # running | paused | closed
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    due_date: date | None
    uncertain: bool  # computed past the calendar the system knows (日历未确认)
    closed_at: datetime | None
    # running: warning/overdue at `now`; stopped: overdue when it used more than its limit.
    alert: AlertState | None


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
    clock: ClockView | None  # the open (running or paused) stage clock, if any


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class MaterialView:
    code: str
    name: str
    copies: int
    original_required: bool
    e_licence_verified: bool


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
    """An action the actor could take now (a guard needing their input may still refuse)."""

    action: str
    label: str
    side: str
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
    sides: tuple[str, ...]  # the sides of this case the actor works on
    materials: list[MaterialView]
    clocks: list[ClockView]
    history: list[EventView]
    actions: list[ActionOption]
    # From the case's guide version: every material it lists, and the required ones not yet
    # handed in (what a one-time notice would list).
    guide_materials: list[MaterialChoice]
    missing_materials: list[str]


@dataclass(frozen=True)
class MaterialChoice:
    code: str
    name: str
    required: bool
    original: bool
    e_licence: bool


@dataclass(frozen=True)
class ItemChoice:
    code: str
    name: str
    guide_version: int
    materials: tuple[MaterialChoice, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class UnitChoice:
    code: str
    name: str
    region_code: str


@dataclass(frozen=True)
class RegistrationChoices:
    """What a clerk picks from when registering: items with a guide, home departments."""

    items: list[ItemChoice]
    departments: list[UnitChoice]


# --- clocks --------------------------------------------------------------------------------


def _clock_view(clock: Deadline, now: datetime) -> ClockView:
    stage = Stage(clock.stage)
    side = Side(clock.owner_side)
    return ClockView(
        stage=stage.value,
        stage_label=STAGE_LABELS[stage],
        owner_side=side.value,
        owner_label=SIDE_LABELS[side],
        status=clock.status,
        started_at=clock.started_at,
        due_at=clock.due_at,
        warn_at=clock.warn_at,
        due_date=due_date(clock.due_at) if clock.due_at is not None else None,
        uncertain=clock.uncertain,
        closed_at=clock.closed_at,
        alert=clock_alert(clock, now),
    )


def _open_clock(clocks: Sequence[Deadline], now: datetime) -> ClockView | None:
    """The case's current clock: running before paused, the earliest due first."""
    open_clocks = [c for c in clocks if c.status != "closed"]
    if not open_clocks:
        return None
    first = min(
        open_clocks,
        key=lambda c: (c.status != "running", c.due_at is None, c.due_at or now, c.id),
    )
    return _clock_view(first, now)


# --- the list ------------------------------------------------------------------------------


_Ts = TypeVarTuple("_Ts")


def _scoped(stmt: Select[*_Ts], actor: Actor) -> Select[*_Ts]:
    """Restrict a select over Case joined with Office and Department to the actor's scope."""
    if actor.role is Role.ADMIN:
        return stmt
    if actor.role is Role.CLERK and actor.office_id is not None:
        return stmt.where(Case.office_id == actor.office_id)
    if actor.role is Role.REVIEWER and actor.department_id is not None:
        return stmt.where(Case.department_id == actor.department_id)
    if actor.role is Role.SUPERVISOR and actor.region_code:
        prefix = region_prefix(actor.region_code)
        return stmt.where(
            or_(Office.region_code.startswith(prefix), Department.region_code.startswith(prefix))
        )
    return stmt.where(false())  # a role without its unit sees nothing


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_cases(
    uow: UnitOfWork,
    *,
    actor: Actor,
    now: datetime,
    state: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> CasePage:
    """The cases in the actor's scope, open ones first, newest first; three queries in all."""
    if state:
        try:
            State(state)
        except ValueError:
            raise InvalidInput(f"state：没有「{state}」这种案件状态。", field="state") from None
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"page：页码应在 1 到 {MAX_PAGE} 之间。", field="page")
    if not 1 <= per_page <= 100:
        raise InvalidInput("per_page：每页条数应在 1 到 100 之间。", field="per_page")
    text = (q or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"q：搜索词最多 {MAX_QUERY_CHARS} 个字。", field="q")
    stmt = (
        select(Case, Item.code, Item.name, Office.name, Department.name)
        .join(Item, Item.id == Case.item_id)
        .join(Office, Office.id == Case.office_id)
        .join(Department, Department.id == Case.department_id)
    )
    stmt = _scoped(stmt, actor)
    if state:
        stmt = stmt.where(Case.state == state)
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            or_(
                Case.case_no.ilike(pattern, escape="\\"),
                Case.applicant_name.ilike(pattern, escape="\\"),
                Item.name.ilike(pattern, escape="\\"),
                Item.code.ilike(pattern, escape="\\"),
            )
        )
    with uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        ordered = stmt.order_by(
            case((Case.closed_at.is_(None), 0), else_=1),
            Case.received_at.desc(),
            Case.id.desc(),
        )
        found = session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
        ids = [row[0].id for row in found]
        clocks: dict[int, list[Deadline]] = {}
        if ids:
            for clock in session.scalars(
                select(Deadline).where(Deadline.case_id.in_(ids), Deadline.status != "closed")
            ):
                clocks.setdefault(clock.case_id, []).append(clock)
        rows = [
            CaseRow(
                case_no=c.case_no,
                item_code=item_code,
                item_name=item_name,
                state=c.state,
                state_label=STATE_LABELS[State(c.state)],
                final=State(c.state) in FINAL_STATES,
                applicant_name=c.applicant_name,
                office_name=office_name,
                department_name=department_name,
                received_at=c.received_at,
                updated_at=c.updated_at,
                version=c.version,
                clock=_open_clock(clocks.get(c.id, []), now),
            )
            for c, item_code, item_name, office_name, department_name in found
        ]
    return CasePage(rows=rows, page=page, per_page=per_page, total=total)


# --- one case ------------------------------------------------------------------------------


def _actions(case: Case, sides: set[Side]) -> list[ActionOption]:
    """What the actor's side may try now: the machine's options, less those a fact of the
    case already refuses (no originals to mail, originals not yet arrived)."""
    facts = CaseFacts(
        state=case.state,
        originals_required=case.originals_required,
        originals_arrived=case.originals_received_at is not None,
    )
    options: list[ActionOption] = []
    for side in sorted(sides):
        probe = ActionInput(side=side)
        for action in available_actions(State(case.state), side):
            if action is Action.MAIL_ORIGINALS and originals_needed(facts, probe, action):
                continue
            if action in (Action.APPROVE, Action.REFUSE) and originals_in_hand(
                facts, probe, action
            ):
                continue
            methods: tuple[str, ...] = ()
            if action is Action.DELIVER:
                methods = tuple(
                    m.value
                    for m in DeliveryMethod
                    if delivery_fits_side(
                        facts,
                        ActionInput(side=side, delivery_method=m, carrier="-", tracking_no="-"),
                        action,
                    )
                    is None
                )
            options.append(
                ActionOption(
                    action=action.value,
                    label=ACTION_LABELS[action],
                    side=side.value,
                    delivery_methods=methods,
                )
            )
    return options


def _event_view(event: AuditEvent) -> EventView:
    def label(state: str | None) -> str | None:
        return STATE_LABELS[State(state)] if state else None

    return EventView(
        seq=event.seq,
        at=event.at,
        actor_name=event.actor_name,
        role=event.role,
        role_label=_ROLE_LABELS.get(event.role, event.role),
        unit=event.unit,
        action=event.action,
        action_label=EVENT_LABELS.get(event.action, event.action),
        from_state=event.from_state,
        from_label=label(event.from_state),
        to_state=event.to_state,
        to_label=label(event.to_state),
        reasons=list(event.reasons),
        payload=dict(event.payload),
    )


def case_detail(uow: UnitOfWork, *, actor: Actor, case_no: str, now: datetime) -> CaseDetail:
    """One case as the actor may see it: materials, clocks, audit history, actions open."""
    with uow:
        session = uow.session
        row = session.execute(
            select(Case, Item, Office, Department)
            .join(Item, Item.id == Case.item_id)
            .join(Office, Office.id == Case.office_id)
            .join(Department, Department.id == Case.department_id)
            .where(Case.case_no == case_no)
        ).one_or_none()
        if row is None:
            raise CaseNotFound(f"案件「{case_no}」不存在，请核对案件编号。")
        c, item, office, department = row
        check_can_read(session, actor, c)
        sides = sides_of(actor, c)
        clocks = session.scalars(
            select(Deadline).where(Deadline.case_id == c.id).order_by(Deadline.id)
        ).all()
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == c.id).order_by(AuditEvent.seq)
        ).all()
        state = State(c.state)
        config = config_of(session, c.guide_version_id) if c.guide_version_id else None
        handed_in = [m.code for m in c.materials]
        detail = CaseDetail(
            case_no=c.case_no,
            version=c.version,
            state=state.value,
            state_label=STATE_LABELS[state],
            final=state in FINAL_STATES,
            item_code=item.code,
            item_name=item.name,
            office_code=office.code,
            office_name=office.name,
            department_code=department.code,
            department_name=department.name,
            applicant_kind=c.applicant_kind,
            applicant_name=c.applicant_name,
            applicant_id_masked=mask(c.applicant_id_number),
            contact_phone=c.contact_phone,
            delivery_preference=c.delivery_preference,
            delivery_label=_delivery_label(c.delivery_preference),
            delivery_address=c.delivery_address,
            originals_required=c.originals_required,
            originals_received_at=c.originals_received_at,
            decision=c.decision,
            received_at=c.received_at,
            updated_at=c.updated_at,
            closed_at=c.closed_at,
            sides=tuple(sorted(s.value for s in sides)),
            materials=[
                MaterialView(
                    code=m.code,
                    name=m.name,
                    copies=m.copies,
                    original_required=m.original_required,
                    e_licence_verified=m.e_licence_verified,
                )
                for m in c.materials
            ],
            clocks=[_clock_view(clock, now) for clock in clocks],
            history=[_event_view(e) for e in events],
            actions=_actions(c, sides),
            guide_materials=[
                MaterialChoice(m.code, m.name, m.required, m.original, m.e_licence)
                for m in (config.materials if config else ())
            ],
            missing_materials=list(missing_materials(config, handed_in)) if config else [],
        )
    return detail


def _delivery_label(value: str) -> str:
    try:
        return DELIVERY_LABELS[DeliveryMethod(value)]
    except ValueError:
        return value


# --- registration --------------------------------------------------------------------------


def registration_choices(uow: UnitOfWork) -> RegistrationChoices:
    """The items a window can receive (those with an operating guide, at its latest version)
    and the home departments; two queries."""
    with uow:
        session = uow.session
        latest: dict[int, tuple[Item, GuideVersion]] = {}
        for item, guide in session.execute(
            select(Item, GuideVersion)
            .join(GuideVersion, GuideVersion.item_id == Item.id)
            .order_by(Item.batch, Item.seq, GuideVersion.version)
        ):
            latest[item.id] = (item, guide)  # ordered by version: the last one wins
        items = []
        for item, guide in latest.values():
            config = parse_config(guide.config)
            items.append(
                ItemChoice(
                    code=item.code,
                    name=item.name,
                    guide_version=guide.version,
                    materials=tuple(
                        MaterialChoice(m.code, m.name, m.required, m.original, m.e_licence)
                        for m in config.materials
                    ),
                    results=tuple(r.value for r in config.results),
                )
            )
        departments = [
            UnitChoice(d.code, d.name, d.region_code)
            for d in session.scalars(select(Department).order_by(Department.code))
        ]
    return RegistrationChoices(items=items, departments=departments)
