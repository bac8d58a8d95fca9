"""Case use cases: one function per user action, one transaction each.

Each action: load the case, check the actor's scope, apply the workflow, move the stage
clocks, append the audit event, commit. A refused action writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import Case, CaseMaterial, Department, Item, Office, Role
from tongban.workflow.guards import ActionInput, CaseFacts
from tongban.workflow.guide import GuideConfig, missing_materials, originals_to_mail
from tongban.workflow.identity import (
    InvalidIdentityNumber,
    mask,
    validate_credit_code,
    validate_person_id,
)
from tongban.workflow.machine import TransitionNotAllowed, TransitionRefused, fire
from tongban.workflow.stages import ClockOp, Stage
from tongban.workflow.states import STATE_LABELS, Action, DeliveryMethod, State

from .actors import Actor, side_for_action
from .audit import AuditKey, append_event
from .calendars import calendar_for
from .case_numbers import next_case_no
from .clocks import apply_clock_ops
from .errors import CaseNotFound, InvalidInput, ScopeDenied, StaleVersion, TransitionError
from .guides import config_of, latest_guide
from .uow import UnitOfWork

log = structlog.get_logger("tongban.cases")


@dataclass(frozen=True)
class MaterialIn:
    code: str
    copies: int = 1
    e_licence_verified: bool = False


@dataclass(frozen=True)
class Application:
    """What the window clerk registers at receipt (收件)."""

    item_code: str
    department_code: str
    applicant_kind: str  # person | company
    applicant_name: str
    applicant_id_number: str
    delivery_preference: str  # mail | electronic | window
    materials: tuple[MaterialIn, ...] = ()
    contact_phone: str = ""
    delivery_address: str = ""


@dataclass(frozen=True)
class CaseView:
    case_no: str
    state: str
    state_label: str
    version: int
    originals_required: bool
    audit_seq: int


def _view(case: Case) -> CaseView:
    return CaseView(
        case_no=case.case_no,
        state=case.state,
        state_label=STATE_LABELS[State(case.state)],
        version=case.version,
        originals_required=case.originals_required,
        audit_seq=case.audit_seq,
    )


def _validate_applicant_id(kind: str, number: str) -> str:
    try:
        if kind == "person":
            return validate_person_id(number, field="applicant_id_number（身份证号码）")
        if kind == "company":
            return validate_credit_code(number, field="applicant_id_number（统一社会信用代码）")
    except InvalidIdentityNumber as err:
        raise InvalidInput(str(err), code=err.code, field="applicant_id_number") from None
    raise InvalidInput(
        f"applicant_kind：应为 person（自然人）或 company（法人），实际为「{kind}」。",
        field="applicant_kind",
    )


def _materials(config: GuideConfig, given: Sequence[MaterialIn]) -> list[CaseMaterial]:
    seen: set[str] = set()
    rows = []
    for m in given:
        spec = config.material(m.code)
        if spec is None:
            known = "、".join(f"{s.code}（{s.name}）" for s in config.materials)
            raise InvalidInput(
                f"materials：操作指南中没有材料「{m.code}」。可选：{known}。", field="materials"
            )
        if m.code in seen:
            raise InvalidInput(f"materials：材料「{spec.name}」重复登记。", field="materials")
        if m.copies < 1:
            raise InvalidInput(f"materials：材料「{spec.name}」份数须至少为1。", field="materials")
        seen.add(m.code)
        rows.append(
            CaseMaterial(
                code=spec.code,
                name=spec.name,
                copies=m.copies,
                original_required=spec.original,
                e_licence_verified=m.e_licence_verified and spec.e_licence,
            )
        )
    return rows


def _originals_required(config: GuideConfig, materials: Sequence[CaseMaterial]) -> bool:
    return bool(originals_to_mail(config, {m.code: m.e_licence_verified for m in materials}))


def _one(session: Session, model: Any, code: str, what: str, field_name: str) -> Any:
    row = session.scalars(select(model).where(model.code == code)).one_or_none()
    if row is None:
        raise InvalidInput(f"{field_name}：{what}「{code}」不存在。", field=field_name)
    return row


def register_case(
    uow: UnitOfWork, key: AuditKey, *, actor: Actor, application: Application, now: datetime
) -> CaseView:
    """收件: a window clerk registers an application received at the window."""
    if actor.role is not Role.CLERK or actor.office_id is None:
        raise ScopeDenied("只有收件窗口人员可以登记收件。")
    app = application
    id_number = _validate_applicant_id(app.applicant_kind, app.applicant_id_number)
    if not app.applicant_name.strip():
        raise InvalidInput("applicant_name：请填写申请人姓名或单位名称。", field="applicant_name")
    with uow:
        session = uow.session
        item: Item = _one(session, Item, app.item_code, "事项", "item_code")
        department: Department = _one(
            session, Department, app.department_code, "办理地部门", "department_code"
        )
        guide = latest_guide(session, item.id)
        if guide is None:
            raise InvalidInput(
                f"item_code：事项「{item.name}」尚无操作指南，不能收件。请联系管理员加载指南。",
                code="guide.missing",
                field="item_code",
            )
        config = config_of(session, guide.id)
        _check_delivery(config, app)
        materials = _materials(config, app.materials)
        office = session.get_one(Office, actor.office_id)
        case = Case(
            case_no=next_case_no(session, office, now),
            item_id=item.id,
            guide_version_id=guide.id,
            state=State.RECEIVED.value,
            office_id=office.id,
            department_id=department.id,
            applicant_kind=app.applicant_kind,
            applicant_name=app.applicant_name.strip(),
            applicant_id_number=id_number,
            contact_phone=app.contact_phone.strip(),
            delivery_preference=app.delivery_preference,
            delivery_address=app.delivery_address.strip(),
            originals_required=_originals_required(config, materials),
            received_at=now,
            updated_at=now,
            materials=materials,
        )
        session.add(case)
        session.flush()
        apply_clock_ops(
            session,
            case,
            (ClockOp("open", Stage.FORWARD),),
            config=config,
            cal=calendar_for(session),
            now=now,
        )
        append_event(
            session,
            key,
            case,
            actor,
            action="receive",
            at=now,
            from_state=None,
            to_state=case.state,
            payload={
                "item": item.code,
                "guide_version": guide.version,
                "department": department.code,
                "applicant_kind": app.applicant_kind,
                "applicant_id": mask(id_number),
                "materials": [m.code for m in materials],
                "originals_required": case.originals_required,
            },
        )
        uow.commit()
        view = _view(case)
    log.info("case.receive", case_no=view.case_no, user=actor.username, item=app.item_code)
    return view


def _check_delivery(config: GuideConfig, app: Application) -> None:
    try:
        method = DeliveryMethod(app.delivery_preference)
    except ValueError:
        raise InvalidInput(
            "delivery_preference：应为 mail（寄递）、electronic（网络送达）或 window（窗口领取）。",
            field="delivery_preference",
        ) from None
    if method not in config.results:
        offered = "、".join(m.value for m in config.results)
        raise InvalidInput(
            f"delivery_preference：本事项的结果只能以 {offered} 方式发放。",
            field="delivery_preference",
        )
    if method is DeliveryMethod.MAIL and not app.delivery_address.strip():
        raise InvalidInput("delivery_address：寄递结果须填写收件地址。", field="delivery_address")


@dataclass
class _Step:
    """How one action fills the workflow input and changes the case beyond its state."""

    reasons: Sequence[str] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    inp: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Session, Case, GuideConfig], dict[str, Any]] | None = None
    apply: Callable[[Case, datetime, GuideConfig], None] | None = None


def _load(session: Session, case_no: str) -> Case:
    case = session.scalars(select(Case).where(Case.case_no == case_no)).one_or_none()
    if case is None:
        raise CaseNotFound(f"案件「{case_no}」不存在，请核对案件编号。")
    return case


def _act(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    action: Action,
    now: datetime,
    expected_version: int | None,
    step: _Step,
) -> CaseView:
    with uow:
        session = uow.session
        case = _load(session, case_no)
        side = side_for_action(actor, case, action)
        if expected_version is not None and expected_version != case.version:
            raise StaleVersion(
                f"案件「{case_no}」已更新（您看到的是第 {expected_version} 版，"
                f"现为第 {case.version} 版）。请刷新后重新操作。",
                current_version=case.version,
            )
        config = config_of(session, case.guide_version_id or 0)
        extra = step.prepare(session, case, config) if step.prepare else {}
        facts = CaseFacts(
            state=case.state,
            originals_required=case.originals_required,
            originals_arrived=case.originals_received_at is not None,
        )
        inp = ActionInput(side=side, reasons=tuple(step.reasons), **step.inp, **extra)
        try:
            outcome = fire(facts, action, inp)
        except (TransitionNotAllowed, TransitionRefused) as err:
            log.info(
                "case.refused",
                case_no=case_no,
                user=actor.username,
                action=action.value,
                code=err.code,
            )
            raise TransitionError(str(err), code=err.code) from None
        # One UPDATE of the case per action: without this, the clock query would flush
        # the state change early and the audit head would need a second UPDATE.
        with session.no_autoflush:
            case.state = outcome.target.value
            case.updated_at = now
            if step.apply:
                step.apply(case, now, config)
            apply_clock_ops(
                session, case, outcome.clocks, config=config, cal=calendar_for(session), now=now
            )
            append_event(
                session,
                key,
                case,
                actor,
                action=action.value,
                at=now,
                from_state=outcome.source.value,
                to_state=outcome.target.value,
                reasons=step.reasons,
                payload=step.payload,
            )
        uow.commit()
        view = _view(case)
    log.info(
        "case.action",
        case_no=case_no,
        user=actor.username,
        action=action.value,
        from_state=outcome.source.value,
        to_state=outcome.target.value,
    )
    return view


# --- window side -------------------------------------------------------------------------


def pass_formal_review(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    expected_version: int | None = None,
) -> CaseView:
    """形式审查通过: every required material of the guide has been handed in."""

    def prepare(session: Session, case: Case, config: GuideConfig) -> dict[str, Any]:
        return {"missing_materials": missing_materials(config, (m.code for m in case.materials))}

    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.PASS_FORMAL_REVIEW,
        now=now,
        expected_version=expected_version,
        step=_Step(prepare=prepare),
    )


def request_supplement(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    notice_items: Sequence[str],
    expected_version: int | None = None,
) -> CaseView:
    """一次性告知补正: the forward clock stops until the applicant supplements."""
    items = tuple(i.strip() for i in notice_items if i.strip())
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.REQUEST_SUPPLEMENT,
        now=now,
        expected_version=expected_version,
        step=_Step(inp={"notice_items": items}, payload={"notice_items": list(items)}),
    )


def record_supplement(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    materials: Sequence[MaterialIn],
    expected_version: int | None = None,
) -> CaseView:
    """补正: the applicant hands in what the notice listed; formal review starts again."""
    added: list[CaseMaterial] = []

    def prepare(session: Session, case: Case, config: GuideConfig) -> dict[str, Any]:
        have = {m.code for m in case.materials}
        fresh = [m for m in materials if m.code not in have]
        added.extend(_materials(config, fresh))
        return {}

    def apply(case: Case, _now: datetime, config: GuideConfig) -> None:
        case.materials.extend(added)
        case.originals_required = _originals_required(config, case.materials)

    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.SUPPLEMENT,
        now=now,
        expected_version=expected_version,
        step=_Step(
            prepare=prepare, apply=apply, payload={"materials": [m.code for m in materials]}
        ),
    )


def not_accept(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    reasons: Sequence[str],
    expected_version: int | None = None,
) -> CaseView:
    """不予受理, with reasons."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.NOT_ACCEPT,
        now=now,
        expected_version=expected_version,
        step=_Step(reasons=reasons, apply=_close),
    )


def verify_identity(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    document_number: str,
    expected_version: int | None = None,
) -> CaseView:
    """身份核验通过: the number on the document shown in person matches the application."""

    def prepare(session: Session, case: Case, config: GuideConfig) -> dict[str, Any]:
        seen = _validate_applicant_id(case.applicant_kind, document_number)
        if seen != case.applicant_id_number:
            raise InvalidInput(
                "document_number：所持证件号码与收件登记的号码不一致。"
                "请核对；确属不符的，请作「身份核验不通过」处理。",
                code="identity.mismatch",
                field="document_number",
            )
        return {}

    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.VERIFY_IDENTITY,
        now=now,
        expected_version=expected_version,
        step=_Step(prepare=prepare, payload={"document": mask(document_number.strip())}),
    )


def fail_identity(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    reasons: Sequence[str],
    expected_version: int | None = None,
) -> CaseView:
    """身份核验不通过: ends the case."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.FAIL_IDENTITY,
        now=now,
        expected_version=expected_version,
        step=_Step(reasons=reasons, apply=_close),
    )


def forward(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    expected_version: int | None = None,
) -> CaseView:
    """在线推送 to the home department's inbox."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.FORWARD,
        now=now,
        expected_version=expected_version,
        step=_Step(),
    )


def mail_originals(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    carrier: str,
    tracking_no: str,
    expected_version: int | None = None,
) -> CaseView:
    """原件寄递: the window mails the originals the guide asks the home side to examine."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.MAIL_ORIGINALS,
        now=now,
        expected_version=expected_version,
        step=_Step(
            inp={"carrier": carrier, "tracking_no": tracking_no},
            payload={"carrier": carrier.strip(), "tracking_no": tracking_no.strip()},
        ),
    )


# --- home side ---------------------------------------------------------------------------


def accept(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    expected_version: int | None = None,
) -> CaseView:
    """受理 at the home department."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.ACCEPT,
        now=now,
        expected_version=expected_version,
        step=_Step(),
    )


def return_to_window(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    reasons: Sequence[str],
    expected_version: int | None = None,
) -> CaseView:
    """退回 to the receiving window, with reasons."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.RETURN,
        now=now,
        expected_version=expected_version,
        step=_Step(reasons=reasons),
    )


def receive_originals(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    expected_version: int | None = None,
) -> CaseView:
    """原件寄达: the home side confirms the mailed originals arrived."""

    def apply(case: Case, at: datetime, _config: GuideConfig) -> None:
        case.originals_received_at = at

    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.RECEIVE_ORIGINALS,
        now=now,
        expected_version=expected_version,
        step=_Step(apply=apply),
    )


def approve(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    reasons: Sequence[str] = (),
    expected_version: int | None = None,
) -> CaseView:
    """准予."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.APPROVE,
        now=now,
        expected_version=expected_version,
        step=_Step(reasons=reasons, apply=_decide("approved")),
    )


def refuse(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    reasons: Sequence[str],
    expected_version: int | None = None,
) -> CaseView:
    """不予许可, with reasons."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.REFUSE,
        now=now,
        expected_version=expected_version,
        step=_Step(reasons=reasons, apply=_decide("refused")),
    )


# --- either side -------------------------------------------------------------------------


def deliver(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    method: str,
    carrier: str = "",
    tracking_no: str = "",
    expected_version: int | None = None,
) -> CaseView:
    """结果送达: mailed or electronic by the home side, handed over at the window."""
    try:
        chosen = DeliveryMethod(method)
    except ValueError:
        raise InvalidInput(
            "method：应为 mail（寄递）、electronic（网络送达）或 window（窗口领取）。",
            field="method",
        ) from None
    payload = {"method": chosen.value}
    if chosen is DeliveryMethod.MAIL:
        payload |= {"carrier": carrier.strip(), "tracking_no": tracking_no.strip()}
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.DELIVER,
        now=now,
        expected_version=expected_version,
        step=_Step(
            inp={"delivery_method": chosen, "carrier": carrier, "tracking_no": tracking_no},
            payload=payload,
        ),
    )


def complete(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    expected_version: int | None = None,
) -> CaseView:
    """办结."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.COMPLETE,
        now=now,
        expected_version=expected_version,
        step=_Step(apply=_close),
    )


def withdraw(
    uow: UnitOfWork,
    key: AuditKey,
    *,
    actor: Actor,
    case_no: str,
    now: datetime,
    reasons: Sequence[str] = ("申请人申请撤回",),
    expected_version: int | None = None,
) -> CaseView:
    """撤回 at the applicant's request, any time before the decision."""
    return _act(
        uow,
        key,
        actor=actor,
        case_no=case_no,
        action=Action.WITHDRAW,
        now=now,
        expected_version=expected_version,
        step=_Step(reasons=reasons, apply=_close),
    )


def _close(case: Case, at: datetime, _config: GuideConfig) -> None:
    case.closed_at = at


def _decide(decision: str) -> Callable[[Case, datetime, GuideConfig], None]:
    def apply(case: Case, _at: datetime, _config: GuideConfig) -> None:
        case.decision = decision

    return apply
