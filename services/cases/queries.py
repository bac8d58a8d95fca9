"""Read-only use cases: what a person may see of the cases, shaped for the API and workbench.

Every read is scoped by the actor (services.users.scope): a clerk sees its office's cases, a
reviewer its department's, a supervisor what its region received or handles, an admin all.
Alerts (预警/超期) are computed here from the `now` the caller passes in, never in templates.
Each read costs a fixed number of queries, whatever the page size or history length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, case, false, func, or_, select
from sqlalchemy.orm import Session

from tongban.models import (
    AuditEvent,
    Case,
    Deadline,
    Department,
    DepartmentItem,
    GuideVersion,
    Item,
    Office,
)
from tongban.workflow.actions import EVENT_LABELS, UPLOAD_STATES, label_of
from tongban.workflow.availability import Availability, availability
from tongban.workflow.calendar import SHANGHAI, WorkCalendar, due_date, local_date
from tongban.workflow.commands import CaseCommand
from tongban.workflow.deadlines import (
    DEADLINE_STATUS_LABELS,
    DeadlineStatus,
    supplement_ran_out,
    time_left,
)
from tongban.workflow.delivery import DELIVERY_LABELS
from tongban.workflow.excluded import excluded
from tongban.workflow.guards import CaseFacts
from tongban.workflow.guide import (
    GuideConfig,
    Material,
    missing_materials,
    parse_config,
    unscanned,
)
from tongban.workflow.holds import HOLD_LABELS
from tongban.workflow.identity import DOCUMENT_LABELS, mask
from tongban.workflow.machine import options
from tongban.workflow.modes import CaseMode
from tongban.workflow.parties import AGENT_ROLE_LABELS
from tongban.workflow.regions import province_of
from tongban.workflow.roles import ROLE_LABELS, Role
from tongban.workflow.stages import STAGE_LABELS, UNCHARGED, Stage
from tongban.workflow.states import FINAL_STATES, SIDE_LABELS, STATE_LABELS, Side, State

from ..calendar.store import calendar_for
from ..core.errors import InvalidInput
from ..core.uow import UnitOfWork
from ..deadlines.accountability import happened
from ..deadlines.alerts import deadline_alert
from ..files.materials import files_of
from ..guides.store import config_of
from ..users.actors import Actor
from ..users.scope import check_can_read, region_prefix, side_of
from .act import not_found
from .parties import agent_of, applicant_of
from .views import (
    ActionOption,
    AgentView,
    CaseDetail,
    CasePage,
    CaseRow,
    DeadlineView,
    EventView,
    HoldView,
    ItemChoice,
    MaterialChoice,
    MaterialView,
    RegistrationChoices,
    UnitChoice,
)

PER_PAGE = 20
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 100

_ROLE_LABELS: dict[str, str] = {r.value: label for r, label in ROLE_LABELS.items()} | {
    "system": "系统"
}


# --- deadlines -----------------------------------------------------------------------------


def _deadline_view(row: Deadline, now: datetime, cal: WorkCalendar) -> DeadlineView:
    return DeadlineView(
        stage=row.stage.value,
        stage_label=STAGE_LABELS[row.stage],
        owner_side=row.owner_side.value,
        owner_label="不计入任何一方" if row.stage in UNCHARGED else SIDE_LABELS[row.owner_side],
        status=row.status.value,
        status_label=DEADLINE_STATUS_LABELS[row.status],
        started_at=row.started_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        due_date=due_date(row.due_at) if row.due_at is not None else None,
        uncertain=row.uncertain,
        closed_at=row.closed_at,
        # Running over a watched period is nobody's 超期: no red mark, its own words.
        alert=None if row.stage in UNCHARGED else deadline_alert(row, now),
        time_left=_time_left(row, now, cal),
    )


def _time_left(row: Deadline, now: datetime, cal: WorkCalendar) -> str | None:
    if row.status is not DeadlineStatus.RUNNING or row.due_at is None:
        return None
    if row.stage is Stage.PICKUP:  # the applicant's waiting, in plain days
        return f"待领取 {(local_date(now) - local_date(row.resumed_at)).days} 天"
    left = time_left(cal, row.due_at, now)
    return left.watch_text if row.stage in UNCHARGED else left.text


def _current_deadline(
    rows: Sequence[Deadline], now: datetime, cal: WorkCalendar
) -> DeadlineView | None:
    """The case's current deadline: running before paused, the earliest due first."""
    open_rows = [d for d in rows if d.status is not DeadlineStatus.CLOSED]
    if not open_rows:
        return None
    first = min(
        open_rows,
        key=lambda d: (
            d.status is not DeadlineStatus.RUNNING,
            d.due_at is None,
            d.due_at or now,
            d.id,
        ),
    )
    return _deadline_view(first, now, cal)


# --- the list ------------------------------------------------------------------------------


_Ts = TypeVarTuple("_Ts")


def _scoped(stmt: Select[*_Ts], actor: Actor) -> Select[*_Ts]:
    """Restrict a select over Case joined with Office and Department to the actor's scope."""
    if actor.role is Role.ADMIN:
        return stmt
    if actor.role is Role.CLERK and actor.office_id is not None:
        return stmt.where(Case.office_id == actor.office_id)
    if actor.role is Role.REVIEWER and actor.department_id is not None:
        return stmt.where(Case.department_id == actor.department_id, Case.forwarded_at.is_not(None))
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
            raise InvalidInput(f"办件状态：没有「{state}」这种办件状态。", field="state") from None
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"页码：应在 1 到 {MAX_PAGE} 之间。", field="page")
    if not 1 <= per_page <= 100:
        raise InvalidInput("每页条数：应在 1 到 100 之间。", field="per_page")
    text = (q or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"搜索词：最多 {MAX_QUERY_CHARS} 个字。", field="q")
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
    with uow.reading():
        session = uow.session
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        ordered = stmt.order_by(
            case((Case.closed_at.is_(None), 0), else_=1),
            Case.received_at.desc(),
            Case.id.desc(),
        )
        found = session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
        ids = [row[0].id for row in found]
        cal = calendar_for(uow)
        open_deadlines: dict[int, list[Deadline]] = {}
        if ids:
            for row in session.scalars(
                select(Deadline).where(
                    Deadline.case_id.in_(ids), Deadline.status != DeadlineStatus.CLOSED
                )
            ):
                open_deadlines.setdefault(row.case_id, []).append(row)
        rows = [
            CaseRow(
                case_no=c.case_no,
                item_code=item_code,
                item_name=item_name,
                state=c.state.value,
                state_label=STATE_LABELS[c.state],
                final=c.state in FINAL_STATES,
                applicant_name=c.applicant_name,
                office_name=office_name,
                department_name=department_name,
                received_at=c.received_at,
                updated_at=c.updated_at,
                version=c.version,
                deadline=_current_deadline(open_deadlines.get(c.id, []), now, cal),
            )
            for c, item_code, item_name, office_name, department_name in found
        ]
    pages = max(1, -(-total // per_page))
    return CasePage(rows=rows, page=page, per_page=per_page, total=total, pages=pages)


# --- one case ------------------------------------------------------------------------------


def _actions(facts: CaseFacts, side: Side | None) -> list[ActionOption]:
    """What the actor's side may do now, from the action table."""
    if side is None:
        return []
    return [
        ActionOption(
            action=o.action.name,
            label=label_of(o.action, facts.guide),
            side=o.side.value,
            fields=input_fields(o.action.command),
            delivery_methods=o.choices,
        )
        for o in options(facts, side)
    ]


def _transfer_targets(session: Session, c: Case, actions: list[ActionOption]) -> list[UnitChoice]:
    if not any(a.action == "transfer" for a in actions):
        return []
    # Only departments that handle the case's item may take it over.
    others = (
        select(Department)
        .join(DepartmentItem, DepartmentItem.department_id == Department.id)
        .where(DepartmentItem.item_id == c.item_id, Department.id != c.department_id)
        .order_by(Department.region_code, Department.code)
    )
    return [_unit_choice(d) for d in session.scalars(others)]


def input_fields(command: type[CaseCommand]) -> tuple[str, ...]:
    """The fields a person fills in for an action (the case number and version aside)."""
    common = {f.name for f in fields(CaseCommand)}
    return tuple(f.name for f in fields(command) if f.name not in common)


def _facts(
    c: Case,
    config: GuideConfig | None,
    deadlines: Sequence[Deadline],
    now: datetime,
    scanned: Sequence[str] = (),
) -> CaseFacts:
    return CaseFacts(
        state=c.state,
        originals_required=c.originals_required,
        originals_arrived=c.originals_received_at is not None,
        applicant_kind=c.applicant_kind,
        applicant=applicant_of(c),
        agent=agent_of(c),
        agent_role=c.agent_role,
        handed_in=tuple(
            Material(
                m.code, m.name, m.copies, m.original_required, m.e_licence_verified, m.licence_no
            )
            for m in c.materials
        ),
        guide=config,
        hold=c.hold,
        originals_returned=c.originals_returned_at is not None,
        supplement_overdue=supplement_ran_out(
            ((d.stage, d.due_at) for d in deadlines if d.status is DeadlineStatus.RUNNING), now
        ),
        scanned=frozenset(scanned),
    )


def _agent_view(c: Case) -> AgentView | None:
    if c.agent_role is None or c.agent_document_type is None:
        return None
    return AgentView(
        role=c.agent_role.value,
        role_label=AGENT_ROLE_LABELS[c.agent_role],
        name=c.agent_name,
        document_label=DOCUMENT_LABELS[c.agent_document_type],
        document_masked=mask(c.agent_document_number),
        phone=c.agent_phone,
        relationship=c.agent_relationship,
    )


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
    """One case as the actor may see it: materials, deadlines, audit history, actions open."""
    with uow.reading():
        session = uow.session
        row = session.execute(
            select(Case, Item, Office, Department)
            .join(Item, Item.id == Case.item_id)
            .join(Office, Office.id == Case.office_id)
            .join(Department, Department.id == Case.department_id)
            .where(Case.case_no == case_no)
        ).one_or_none()
        if row is None:
            raise not_found(case_no)
        c, item, office, department = row
        check_can_read(session, actor, c)
        side = side_of(actor, c)
        deadlines = session.scalars(
            select(Deadline).where(Deadline.case_id == c.id).order_by(Deadline.id)
        ).all()
        cal = calendar_for(uow)
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == c.id).order_by(AuditEvent.seq)
        ).all()
        state = c.state
        config = config_of(uow, c.guide_version_id) if c.guide_version_id else None
        handed_in = [m.code for m in c.materials]
        files = files_of(session, c, config)
        facts = _facts(c, config, deadlines, now, [f.slot for f in files])
        actions = _actions(facts, side)
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
            applicant_kind=c.applicant_kind.value,
            applicant_name=c.applicant_name,
            applicant_id_masked=mask(c.applicant_id_number),
            applicant_document_label=DOCUMENT_LABELS[c.applicant_document_type],
            legal_representative=c.legal_representative,
            agent=_agent_view(c),
            contact_phone=c.contact_phone,
            delivery_preference=c.delivery_preference.value,
            delivery_label=DELIVERY_LABELS[c.delivery_preference],
            delivery_address=c.delivery_address,
            originals_required=c.originals_required,
            originals_received_at=c.originals_received_at,
            originals_returned_at=c.originals_returned_at,
            decision=c.decision,
            received_at=c.received_at,
            updated_at=c.updated_at,
            closed_at=c.closed_at,
            sides=(side.value,) if side else (),
            materials=[
                MaterialView(
                    code=m.code,
                    name=m.name,
                    copies=m.copies,
                    original_required=m.original_required,
                    e_licence_verified=m.e_licence_verified,
                    licence_no=m.licence_no,
                )
                for m in c.materials
            ],
            deadlines=[_deadline_view(d, now, cal) for d in deadlines],
            history=[_event_view(e) for e in events],
            actions=actions,
            guide_materials=[
                MaterialChoice(m.code, m.name, m.required, m.original, m.e_licence, m.paper_allowed)
                for m in (config.materials if config else ())
            ],
            transfer_targets=_transfer_targets(session, c, actions),
            missing_materials=(
                list(missing_materials(config, handed_in, agent=c.agent_role is not None))
                if config
                else []
            ),
            hold=_hold_view(c, cal, now),
            excluded=excluded([happened(e) for e in events], cal, now),
            files=files,
            unscanned=(
                list(
                    unscanned(
                        config, facts.handed_in, facts.scanned, agent=c.agent_role is not None
                    )
                )
                if config
                else []
            ),
            can_upload=side is Side.WINDOW and state in UPLOAD_STATES,
        )
    return detail


def _hold_view(c: Case, cal: WorkCalendar, now: datetime) -> HoldView | None:
    if c.hold is None or c.hold_since is None:
        return None
    until = c.hold_until
    return HoldView(
        hold=c.hold.value,
        label=HOLD_LABELS[c.hold],
        since=c.hold_since,
        until=until,
        time_left=time_left(cal, until, now).watch_text if until is not None else None,
    )


# --- registration --------------------------------------------------------------------------


def registration_choices(uow: UnitOfWork, *, now: datetime) -> RegistrationChoices:
    """The items a window can receive now (可受理, with an operating guide at its latest
    version), each with the home departments handling it; two queries."""
    today = now.astimezone(SHANGHAI).date()
    with uow.reading():
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
            status = availability(item.batch, item.lead_missing, item.deadline_text, today)
            if status is not Availability.RECEIVABLE:
                continue
            config = parse_config(guide.config)
            if CaseMode.PROXY.value not in config.modes:
                continue  # done in person on the spot, or online: not received at a window
            items.append(
                ItemChoice(
                    code=item.code,
                    name=item.name,
                    guide_version=guide.version,
                    materials=tuple(
                        MaterialChoice(
                            m.code, m.name, m.required, m.original, m.e_licence, m.paper_allowed
                        )
                        for m in config.materials
                    ),
                    results=tuple(r.value for r in config.results),
                    guide_status=config.status,
                )
            )
        routes: dict[str, list[UnitChoice]] = {}
        for item_code, d in session.execute(
            select(Item.code, Department)
            .join(DepartmentItem, DepartmentItem.department_id == Department.id)
            .join(Item, Item.id == DepartmentItem.item_id)
            .order_by(Department.region_code, Department.code)
        ):
            routes.setdefault(item_code, []).append(_unit_choice(d))
    return RegistrationChoices(
        items=[dataclasses.replace(i, departments=tuple(routes.get(i.code, ()))) for i in items]
    )


def _unit_choice(d: Department) -> UnitChoice:
    return UnitChoice(d.code, d.name, d.region_code, province_of(d.region_code) or "")
