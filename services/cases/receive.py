"""收件: a window clerk registers an application received at the window.

The case number is `<office code>-<yyyymmdd>-<seq>`, taken from a per-office, per-day
counter row in the same transaction: concurrent instances serialise on that row, so two
windows never print the same number, and a refused receipt gives its number back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import structlog

from tongban.workflow.actions import RECEIVE
from tongban.workflow.availability import Availability, availability, online_from
from tongban.workflow.calendar import SHANGHAI
from tongban.workflow.commands import (
    AgentIn,
    Application,
    has_text,
    name_problem,
    names_given,
)
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.guide import (
    GuideConfig,
    MaterialsInvalid,
    check_materials,
    originals_required,
)
from tongban.workflow.identity import (
    PERSONAL_DOCUMENTS,
    ApplicantKind,
    DocumentType,
    InvalidIdentityNumber,
    birth_date,
    mask,
    validate_document,
)
from tongban.workflow.modes import MODE_LABELS, CaseMode
from tongban.workflow.parties import AGENT_ROLE_LABELS, AgentRole, Party
from tongban.workflow.roles import Role
from tongban.workflow.stages import Stage
from tongban.workflow.states import STATE_LABELS, State

from ..audit.chain import next_link
from ..calendar.store import calendar_for
from ..core.errors import InvalidInput, ScopeDenied
from ..core.uow import UnitOfWork
from ..deadlines.ops import starting
from ..guides.store import config_of
from ..users.actors import Actor
from .store import CaseStore, References
from .views import CaseView

log = structlog.get_logger("tongban.cases")


def receive(uow: UnitOfWork, application: Application, *, actor: Actor, now: datetime) -> CaseView:
    """Register `application` at `actor`'s window at `now`: the case starts 已收件 with its
    forwarding deadline running and its first audit event."""
    if actor.role is not Role.CLERK or actor.office_id is None or actor.office_code is None:
        raise ScopeDenied("只有收件窗口人员可以登记收件。")
    app = application
    kind = _applicant_kind(app.applicant_kind)
    if not has_text(app.applicant_name):
        raise InvalidInput("申请人：请填写申请人姓名或单位名称。", field="applicant_name")
    for name_field, label, value in names_given(app):
        problem = name_problem(value)
        if problem is not None:
            raise InvalidInput(f"{label}：{problem}", field=name_field)
    applicant = _applicant(kind, app)
    day = now.astimezone(SHANGHAI).date()
    agent = _agent(kind, applicant, app, day)
    method = _delivery_method(app.delivery_preference)
    with uow.batching():
        store = CaseStore(uow)
        found, seq = store.open_receipt(
            item_code=app.item_code,
            department_code=app.department_code,
            office_id=actor.office_id,
            day=day,
        )
        refs = _references(found, app, day)
        guide = config_of(uow, refs.guide_id)
        _check_by_proxy(guide, refs)
        confirmed = _check_guide_status(uow, guide, app)
        _check_delivery(guide, method, app.delivery_address)
        try:
            materials = check_materials(guide, app.materials)
        except MaterialsInvalid as err:
            raise InvalidInput(str(err), field=err.field) from None
        agent_role = app.agent.role if app.agent is not None else None
        case_no = f"{actor.office_code}-{day:%Y%m%d}-{seq:04d}"
        required = originals_required(guide, materials)
        link = next_link(
            uow.rt.key,
            case_no,
            seq=1,
            prev_mac="",
            actor=actor,
            action=RECEIVE,
            at=now,
            from_state=None,
            to_state=State.RECEIVED.value,
            payload={
                "item": app.item_code,
                "guide_version": refs.guide_version,
                "department": app.department_code,
                "applicant_kind": kind.value,
                "applicant_document_type": applicant.document_type.value,
                "applicant_id": mask(applicant.document_number),
                **(
                    {}
                    if agent is None or agent_role is None
                    else {
                        "agent_role": agent_role.value,
                        "agent_name": agent.name,
                        "agent_document_type": agent.document_type.value,
                        "agent_id": mask(agent.document_number),
                    }
                ),
                "materials": [m.code for m in materials],
                **(
                    {"licences": {m.code: m.licence_no for m in materials if m.licence_no}}
                    if any(m.licence_no for m in materials)
                    else {}
                ),
                "originals_required": required,
                **({"default_guide_confirmed": True} if confirmed else {}),
            },
        )
        deadline = starting(
            Stage.FORWARD,
            office_id=actor.office_id,
            department_id=refs.department_id,
            limit_days=guide.limit_days(Stage.FORWARD),
            cal=calendar_for(uow),
            now=now,
            share=uow.rt.warning_share,
        )
        store.insert(
            {
                "case_no": case_no,
                "item_id": refs.item_id,
                "guide_version_id": refs.guide_id,
                "mode": CaseMode.PROXY,
                "state": State.RECEIVED,
                "version": 1,
                "office_id": actor.office_id,
                "department_id": refs.department_id,
                "applicant_kind": kind,
                "applicant_name": applicant.name,
                "applicant_document_type": applicant.document_type,
                "applicant_id_number": applicant.document_number,
                "legal_representative": app.legal_representative.strip(),
                "agent_role": agent_role,
                "agent_name": agent.name if agent else "",
                "agent_document_type": agent.document_type if agent else None,
                "agent_document_number": agent.document_number if agent else "",
                "agent_phone": app.agent.phone.strip() if app.agent else "",
                "agent_relationship": app.agent.relationship.strip() if app.agent else "",
                "contact_phone": app.contact_phone.strip(),
                "delivery_preference": method,
                "delivery_address": app.delivery_address.strip(),
                "originals_required": required,
                "received_at": now,
                "updated_at": now,
                "audit_seq": link.seq,
                "audit_head": link.mac,
            },
            link.columns(),
            deadline,
            materials,
        )
        uow.commit()
    log.info("case.receive", case_no=case_no, user=actor.username, item=app.item_code)
    return CaseView(
        case_no=case_no,
        state=State.RECEIVED.value,
        state_label=STATE_LABELS[State.RECEIVED],
        version=1,
        originals_required=required,
        audit_seq=1,
    )


def _applicant_kind(value: str) -> ApplicantKind:
    try:
        return ApplicantKind(value)
    except ValueError:
        raise InvalidInput(
            f"申请人类型：应为 person（自然人）或 company（法人），实际为「{value}」。",
            field="applicant_kind",
        ) from None


def _applicant(kind: ApplicantKind, app: Application) -> Party:
    """The applicant with a document that fits their kind, its number checked."""
    if kind is ApplicantKind.COMPANY:
        doc = app.applicant_document_type or DocumentType.CREDIT_CODE
        if doc is not DocumentType.CREDIT_CODE:
            raise InvalidInput(
                "申请人证件类型：法人以统一社会信用代码登记；到场经办人的证件请登记在代理人中。",
                field="applicant_document_type",
            )
    else:
        doc = app.applicant_document_type or DocumentType.RESIDENT_ID
        if doc not in PERSONAL_DOCUMENTS:
            raise InvalidInput(
                "申请人证件类型：自然人不能以统一社会信用代码登记，请选择所持身份证件。",
                field="applicant_document_type",
            )
    number = _document(doc, app.applicant_id_number, "申请人证件号码", "applicant_id_number")
    if kind is ApplicantKind.COMPANY and not app.legal_representative.strip():
        raise InvalidInput(
            "法定代表人：法人申请须填写法定代表人姓名。", field="legal_representative"
        )
    return Party(app.applicant_name.strip(), doc, number)


def _agent(kind: ApplicantKind, applicant: Party, app: Application, day: date) -> Party | None:
    """The agent who appears, checked against who may appear for this applicant."""
    given = app.agent
    if given is None:
        _check_no_agent_needed(kind, applicant, day)
        return None
    if not given.name.strip():
        raise InvalidInput("代理人姓名：请填写到场代理人的姓名。", field="agent.name")
    if given.document_type not in PERSONAL_DOCUMENTS:
        raise InvalidInput(
            "代理人证件类型：代理人须出示本人身份证件，不能以统一社会信用代码登记。",
            field="agent.document_type",
        )
    _check_agent_role(kind, given)
    number = _document(
        given.document_type, given.document_number, "代理人证件号码", "agent.document_number"
    )
    if (given.document_type, number) == (applicant.document_type, applicant.document_number):
        raise InvalidInput(
            "代理人证件号码：代理人与申请人是同一人。申请人本人到场的，无须登记代理人。",
            field="agent.document_number",
        )
    return Party(given.name.strip(), given.document_type, number)


def _check_no_agent_needed(kind: ApplicantKind, applicant: Party, day: date) -> None:
    if kind is ApplicantKind.COMPANY:
        raise InvalidInput(
            "代理人：法人申请须登记到场的经办人（姓名、证件），身份核验核对的是经办人。",
            field="agent",
        )
    born = birth_date(applicant.document_type, applicant.document_number)
    if born is not None and _age(born, day) < 18:
        raise InvalidInput(
            f"代理人：申请人未满18周岁（出生于{born:%Y年%m月%d日}），"
            "须登记到场的监护人（或监护人委托的代办人）。",
            field="agent",
        )


def _check_agent_role(kind: ApplicantKind, agent: AgentIn) -> None:
    allowed = (
        (AgentRole.HANDLER,)
        if kind is ApplicantKind.COMPANY
        else (AgentRole.PROXY, AgentRole.GUARDIAN)
    )
    if agent.role not in allowed:
        names = "或".join(AGENT_ROLE_LABELS[r] for r in allowed)
        who = "法人" if kind is ApplicantKind.COMPANY else "自然人"
        raise InvalidInput(
            f"代理人类别：{who}申请的代理人应为{names}，不能是{AGENT_ROLE_LABELS[agent.role]}。",
            field="agent.role",
        )


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _document(kind: DocumentType, number: str, label: str, field: str) -> str:
    try:
        return validate_document(kind, number, label)
    except InvalidIdentityNumber as err:
        raise InvalidInput(str(err), code=err.code, field=field) from None


def _delivery_method(value: str) -> DeliveryMethod:
    try:
        return DeliveryMethod(value)
    except ValueError:
        raise InvalidInput(
            "结果送达方式：应为 mail（寄递）、electronic（网络送达）或 window（窗口领取）。",
            field="delivery_preference",
        ) from None


@dataclass(frozen=True)
class _Found:
    item_id: int
    item_name: str
    guide_id: int
    guide_version: int
    department_id: int


def _references(refs: References | None, app: Application, day: date) -> _Found:
    """The item, its current guide and the department, or the first that is missing."""
    if refs is None:
        raise InvalidInput(f"事项编码：事项「{app.item_code}」不存在。", field="item_code")
    _check_available(refs, day)
    if refs.department_id is None:
        raise InvalidInput(
            f"办理地部门：办理地部门「{app.department_code}」不存在。",
            field="department_code",
        )
    if refs.guide_id is None or refs.guide_version is None:
        raise InvalidInput(
            f"事项编码：事项「{refs.item_name}」尚无操作指南，不能收件。请联系管理员加载指南。",
            code="guide.missing",
            field="item_code",
        )
    if not refs.handles:
        raise InvalidInput(
            f"办理地部门：「{app.department_code}」不办理事项「{refs.item_name}」。"
            "请选择办理该事项的部门（tongban departments list --item 可查）。",
            code="routing.not_handled",
            field="department_code",
        )
    return _Found(
        refs.item_id, refs.item_name, refs.guide_id, refs.guide_version, refs.department_id
    )


def _check_available(refs: References, day: date) -> None:
    status = availability(refs.batch, refs.lead_missing, refs.deadline_text, day)
    if status is Availability.RECEIVABLE:
        return
    if status is Availability.NOT_HERE:
        why = "本市不承接（附件1未列本市牵头单位，该事项不在本市办理）"
    else:
        start = online_from(refs.batch, refs.deadline_text)
        why = (
            f"尚未上线（{start:%Y年%m月%d日}起可受理）"
            if start
            else f"尚未上线（完成时限：{refs.deadline_text or '未定'}）"
        )
    raise InvalidInput(
        f"事项编码：事项「{refs.item_name}」{why}，不能收件。",
        code="item.not_receivable",
        field="item_code",
    )


def _check_by_proxy(guide: GuideConfig, refs: _Found) -> None:
    """Items done in person on the spot, or instantly online, are no proxy cases."""
    if CaseMode.PROXY.value in guide.modes:
        return
    labels = {mode.value: label for mode, label in MODE_LABELS.items()}
    how = "、".join(labels.get(m, m) for m in guide.modes)
    raise InvalidInput(
        f"事项编码：事项「{refs.item_name}」不适用异地代收代办（办理方式：{how or '未定'}），"
        "窗口不予收件登记；请按操作指南引导申请人办理。",
        code="item.not_by_proxy",
        field="item_code",
    )


def _check_guide_status(uow: UnitOfWork, guide: GuideConfig, app: Application) -> bool:
    """A guide still at its default template: the clerk confirms, and the audit says so;
    a deployment may refuse such receipts outright. True when a confirmation was needed."""
    if guide.status != "default":
        return False
    if not uow.rt.settings.allow_default_guides:
        raise InvalidInput(
            "事项编码：本事项操作指南尚未经牵头单位确认（默认模板），本系统设置为不予收件。",
            code="guide.default_forbidden",
            field="item_code",
        )
    if not app.confirm_default_guide:
        raise InvalidInput(
            "确认按默认指南收件：本事项操作指南尚未经牵头单位确认（默认模板）。"
            "按默认模板收件的，请核对材料后勾选确认。",
            code="guide.default_unconfirmed",
            field="confirm_default_guide",
        )
    return True


def _check_delivery(config: GuideConfig, method: DeliveryMethod, address: str) -> None:
    if method not in config.results:
        offered = "、".join(m.value for m in config.results)
        raise InvalidInput(
            f"结果送达方式：本事项的结果只能以 {offered} 方式发放。",
            field="delivery_preference",
        )
    if method is DeliveryMethod.MAIL and not address.strip():
        raise InvalidInput("送达地址：寄递结果须填写收件地址。", field="delivery_address")
