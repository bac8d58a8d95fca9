"""From a case's stored data and audit events to a document's typed input.

Everything a document says comes from the case's fixed data (applicant, item, office) and
from the audit events up to the one it renders, so rendering it again later, whatever
happened to the case since, gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import AuditEvent, Case, CaseMaterial, Department, Item, Office
from tongban.workflow.actions import ACTIONS_BY_NAME, EVENT_LABELS, RECEIVE, label_of
from tongban.workflow.commands import field_labels
from tongban.workflow.delivery import DELIVERY_LABELS, DeliveryMethod
from tongban.workflow.guide import GuideConfig, missing_materials
from tongban.workflow.identity import APPLICANT_KIND_LABELS, DOCUMENT_LABELS, ApplicantKind, mask
from tongban.workflow.parties import AGENT_ROLE_LABELS, PRESENT_LABELS
from tongban.workflow.remedies import LITIGATION_MONTHS, REVIEW_DAYS, remedies
from tongban.workflow.roles import ROLE_LABELS
from tongban.workflow.stages import DEFAULT_LIMIT_DAYS, STAGE_LABELS, Stage
from tongban.workflow.states import STATE_LABELS, Side, State

from ..audit.chain import check_events
from ..audit.keys import AuditKey
from ..core.errors import Conflict
from .inputs import (
    DecisionNotice,
    DeclineNotice,
    Delivery,
    Document,
    Header,
    History,
    HistoryLine,
    LimitLine,
    MaterialLine,
    NotAcceptedNotice,
    NoticeLine,
    Party,
    Receipt,
    SlipLine,
    SupplementNotice,
    TransferSlip,
)
from .kinds import DOCUMENT_ISSUED, SPECS, Kind
from .lookup import derive_code

SYSTEM_ISSUER = "跨省通办业务系统"
_ROLES = {r.value: label for r, label in ROLE_LABELS.items()} | {"system": "系统"}
_EXTRA_LABELS = {
    "item": "事项",
    "guide_version": "指南版本",
    "department": "办理地部门",
    "applicant_kind": "申请人类型",
    "applicant_document_type": "申请人证件类型",
    "applicant_id": "申请人证件号码",
    "agent_role": "代理人类别",
    "agent_name": "代理人",
    "agent_document_type": "代理人证件类型",
    "agent_id": "代理人证件号码",
    "materials": "材料",
    "originals_required": "须寄递原件",
    "default_guide_confirmed": "确认按默认指南收件",
    "decision_label": "决定",
    "remedies": "救济途径",
    "kind": "文书",
    "title": "文书",
    "doc_no": "文书编号",
    "source_seq": "所据事件",
    "sha256": "文书SHA-256",
    "person": "核验对象",
    "verified": "核验对象",
    "verified_name": "核验对象姓名",
}


_DOCUMENTS = {t.value: label for t, label in DOCUMENT_LABELS.items()}
_VALUE_LABELS: dict[str, dict[str, str]] = {
    "applicant_kind": {k.value: label for k, label in APPLICANT_KIND_LABELS.items()},
    "applicant_document_type": _DOCUMENTS,
    "agent_document_type": _DOCUMENTS,
    "document_type": _DOCUMENTS,
    "agent_role": {r.value: label for r, label in AGENT_ROLE_LABELS.items()},
    "method": {m.value: label for m, label in DELIVERY_LABELS.items()},
    "person": {p.value: label for p, label in PRESENT_LABELS.items()},
    "verified": {p.value: label for p, label in PRESENT_LABELS.items()},
}


class DocumentNotApplicable(Conflict):
    code = "document.not_applicable"


@dataclass(frozen=True)
class CaseRecord:
    """What the loader read of one case."""

    case: Case
    item: Item
    office: Office
    events: tuple[AuditEvent, ...]
    materials: tuple[CaseMaterial, ...]
    guide: GuideConfig | None
    units: dict[str, str]  # office and department codes to names


def read_case(session: Session, case: Case, guide: GuideConfig | None) -> CaseRecord:
    """The case's item, office, events, materials and the names of every unit they name."""
    item = session.get_one(Item, case.item_id)
    office = session.get_one(Office, case.office_id)
    events = tuple(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        )
    )
    materials = tuple(
        session.scalars(
            select(CaseMaterial).where(CaseMaterial.case_id == case.id).order_by(CaseMaterial.id)
        )
    )
    codes = {e.unit for e in events} | {
        str(e.payload.get(k)) for e in events for k in ("department", "department_code")
    }
    units = {code: name for code, name in session.execute(select(Office.code, Office.name))}
    units = {c: n for c, n in units.items() if c in codes}
    for code, name in session.execute(
        select(Department.code, Department.name).where(Department.code.in_(codes))
    ):
        units[code] = name
    return CaseRecord(case, item, office, events, materials, guide, units)


def source_event(record: CaseRecord, kind: Kind) -> AuditEvent:
    """The event `kind` renders: the latest of its actions; for the history, the latest
    event that is not itself a document issue."""
    spec = SPECS[kind]
    wanted = [
        e
        for e in record.events
        if (e.action in spec.sources if spec.sources else e.action != DOCUMENT_ISSUED)
    ]
    if kind is Kind.DECISION_NOTICE:
        decisions = [e for e in wanted if e.action in ("approve", "refuse")]
        # The decision, or its delivery when it has been delivered since.
        wanted = [e for e in wanted if decisions and e.seq >= decisions[-1].seq]
    if not wanted:
        raise DocumentNotApplicable(f"办件「{record.case.case_no}」：{spec.missing}")
    return wanted[-1]


def applicable(record: CaseRecord) -> list[Kind]:
    out = []
    for kind in Kind:
        try:
            source_event(record, kind)
        except DocumentNotApplicable:
            continue
        out.append(kind)
    return out


# --- helpers --------------------------------------------------------------------------------


def _unit(record: CaseRecord, code: str) -> str:
    return record.units.get(code, code)


def _department_at(record: CaseRecord, seq: int) -> str:
    """The home department the case was with at event `seq` (转办 moves it)."""
    code = ""
    for e in record.events:
        if e.seq > seq:
            break
        if e.action == RECEIVE:
            code = str(e.payload.get("department", ""))
        elif e.action == "transfer":
            code = str(e.payload.get("department_code", code))
    return _unit(record, code) if code else ""


def _handed_in(record: CaseRecord, seq: int) -> list[CaseMaterial]:
    """The materials handed in by event `seq`: at receipt and by supplements."""
    codes: list[str] = []
    for e in record.events:
        if e.seq > seq:
            break
        if e.action in (RECEIVE, "supplement"):
            codes += [str(c) for c in e.payload.get("materials", []) if str(c) not in codes]
    by_code: dict[str, CaseMaterial] = {}
    for m in record.materials:
        by_code.setdefault(m.code, m)
    return [by_code[c] for c in codes if c in by_code]


def _party(record: CaseRecord) -> tuple[Party, Party | None]:
    c = record.case
    note = ""
    if c.applicant_kind is ApplicantKind.COMPANY and c.legal_representative:
        note = f"法定代表人：{c.legal_representative}"
    applicant = Party(
        "申请人",
        c.applicant_name,
        DOCUMENT_LABELS[c.applicant_document_type],
        mask(c.applicant_id_number),
        note,
    )
    agent = None
    if c.agent_role is not None and c.agent_document_type is not None:
        agent = Party(
            AGENT_ROLE_LABELS[c.agent_role],
            c.agent_name,
            DOCUMENT_LABELS[c.agent_document_type],
            mask(c.agent_document_number),
            f"与申请人关系：{c.agent_relationship}" if c.agent_relationship else "",
        )
    return applicant, agent


def _header(record: CaseRecord, kind: Kind, source: AuditEvent, at: datetime) -> Header:
    spec = SPECS[kind]
    c = record.case
    if spec.issuer is Side.WINDOW:
        issuer = record.office.name
    elif spec.issuer is Side.HOME:
        issuer = _unit(record, source.unit)
    else:
        issuer = SYSTEM_ISSUER
    applicant, agent = _party(record)
    return Header(
        title=spec.title,
        doc_no=f"{c.case_no}-{spec.code}-{source.seq:03d}",
        issuer=issuer,
        issued_at=at,
        case_no=c.case_no,
        item_code=record.item.code,
        item_name=record.item.name,
        office_name=record.office.name,
        department_name=_department_at(record, source.seq),
        applicant=applicant,
        agent=agent,
        received_at=c.received_at,
    )


def _contact(record: CaseRecord) -> str:
    return record.office.contact or "请向收件窗口工作人员咨询"


def _phone(text: str) -> str:
    digits = text.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else digits


def _latest(record: CaseRecord, action: str, before: int) -> AuditEvent | None:
    found = [e for e in record.events if e.action == action and e.seq < before]
    return found[-1] if found else None


# --- each document --------------------------------------------------------------------------


def build_document(
    record: CaseRecord, kind: Kind, *, key: AuditKey, public_url: str
) -> tuple[Document, AuditEvent]:
    """The typed input of document `kind` for the case, and the event it renders."""
    source = source_event(record, kind)
    if kind is Kind.RECEIPT:
        return _receipt(record, source, key, public_url), source
    if kind is Kind.SUPPLEMENT_NOTICE:
        return _supplement(record, source), source
    if kind is Kind.DECLINE_NOTICE:
        header = _header(record, kind, source, source.at)
        clerk, contact = source.actor_name, _contact(record)
        return DeclineNotice(header, clerk, contact, tuple(source.reasons)), source
    if kind is Kind.NOT_ACCEPTED_NOTICE:
        return _not_accepted(record, source), source
    if kind is Kind.TRANSFER_SLIP:
        return _transfer(record, source), source
    if kind is Kind.DECISION_NOTICE:
        return _decision(record, source), source
    return _history(record, source, key), source


def _receipt(record: CaseRecord, source: AuditEvent, key: AuditKey, public_url: str) -> Receipt:
    c = record.case
    if not c.lookup_nonce:
        raise DocumentNotApplicable(f"办件「{c.case_no}」尚未生成查询码。")
    materials = []
    for m in _handed_in(record, source.seq):
        files = m.details.get("files") if isinstance(m.details, dict) else None
        form = f"电子文件 {len(files)} 个" if isinstance(files, list) and files else "纸质"
        if m.original_required and m.e_licence_verified:
            original = "电子证照已核验，原件免寄"
        elif m.original_required:
            original = "原件须寄办理地审查"
        else:
            original = "—"
        materials.append(MaterialLine(m.name, m.copies, form, original))
    limits: list[LimitLine] = []
    guide = record.guide
    if guide is not None:
        notes = {
            Stage.FORWARD: "收件后推送至办理地部门",
            Stage.ACCEPT: "办理地部门收到后决定是否受理",
            Stage.MAIL: "受理后寄出须审查的原件",
            Stage.TRANSIT: "原件在途（预计，不计入任何一方的办理时限）",
            Stage.DECIDE: "受理后作出审批决定（承诺时限；须审查原件的，自原件寄达起算）",
            Stage.DELIVER: "作出决定后送达结果",
        }
        originals = bool(source.payload.get("originals_required", c.originals_required))
        for stage in notes:
            if stage in (Stage.MAIL, Stage.TRANSIT) and not originals:
                continue
            limits.append(LimitLine(STAGE_LABELS[stage], guide.limit_days(stage), notes[stage]))
    address = f"，送达地址：{c.delivery_address}" if c.delivery_address else ""
    return Receipt(
        header=_header(record, Kind.RECEIPT, source, source.at),
        clerk=source.actor_name,
        window_contact=_contact(record),
        materials=tuple(materials),
        limits=tuple(limits),
        delivery=DELIVERY_LABELS[c.delivery_preference] + address,
        contact_phone=_phone(c.contact_phone),
        lookup_code=derive_code(key.secret, c.case_no, c.lookup_nonce),
        lookup_url=f"{public_url.rstrip('/')}/lookup/{c.case_no}",
    )


def _split(item: str) -> NoticeLine:
    for mark in ("：", ":"):
        if mark in item:
            material, reason = item.split(mark, 1)
            if material.strip() and reason.strip():
                return NoticeLine(material.strip(), reason.strip())
    return NoticeLine(item.strip(), "未提交或不符合要求，请按操作指南补正")


def _supplement(record: CaseRecord, source: AuditEvent) -> SupplementNotice:
    # The 补正期限 the case runs under: its guide's (time_limits.supplement).
    days = (
        record.guide.supplement_days
        if record.guide is not None
        else DEFAULT_LIMIT_DAYS[Stage.SUPPLEMENT]
    )
    items = [str(i) for i in source.payload.get("notice_items", []) if str(i).strip()]
    lines = [_split(i) for i in items]
    if source.from_state == State.RETURNED.value:
        returned = _latest(record, "return_to_window", source.seq)
        if returned is not None:
            unit = _unit(record, returned.unit)
            lines += [NoticeLine(f"{unit}退回意见", r) for r in returned.reasons]
    if record.guide is not None:
        handed = [m.code for m in _handed_in(record, source.seq)]
        agent = record.case.agent_role is not None
        for name in missing_materials(record.guide, handed, agent=agent):
            if not any(name in line.material or name in line.reason for line in lines):
                lines.append(NoticeLine(name, "未提交（操作指南所列必需材料）"))
    return SupplementNotice(
        header=_header(record, Kind.SUPPLEMENT_NOTICE, source, source.at),
        clerk=source.actor_name,
        window_contact=_contact(record),
        lines=tuple(lines),
        days=days,
    )


def _not_accepted(record: CaseRecord, source: AuditEvent) -> NotAcceptedNotice:
    p = source.payload
    told = str(
        p.get("remedies") or remedies(str(p.get("review_body", "")), str(p.get("court", "")))
    )
    return NotAcceptedNotice(
        header=_header(record, Kind.NOT_ACCEPTED_NOTICE, source, source.at),
        reviewer=source.actor_name,
        reasons=tuple(source.reasons),
        legal_basis=str(p.get("legal_basis", "")),
        remedies=told,
        review_days=REVIEW_DAYS,
        litigation_months=LITIGATION_MONTHS,
    )


def _transfer(record: CaseRecord, source: AuditEvent) -> TransferSlip:
    lines = []
    for m in _handed_in(record, source.seq):
        original = m.original_required and not m.e_licence_verified
        if original:
            note = "须审查原件，审查后退还申请人"
        elif m.original_required:
            note = "电子证照已核验，原件免寄"
        else:
            note = ""
        lines.append(SlipLine(m.name, m.copies, original, note))
    return TransferSlip(
        header=_header(record, Kind.TRANSFER_SLIP, source, source.at),
        sender=source.actor_name,
        sender_unit=record.office.name,
        receiver_unit=_department_at(record, source.seq),
        lines=tuple(lines),
        carrier=str(source.payload.get("carrier", "")),
        tracking_no=str(source.payload.get("tracking_no", "")),
    )


def _decision(record: CaseRecord, source: AuditEvent) -> DecisionNotice:
    decided = [
        e for e in record.events if e.action in ("approve", "refuse") and e.seq <= source.seq
    ]
    decision = decided[-1]
    approved = decision.action == "approve"
    label = str(
        decision.payload.get("decision_label")
        or label_of(ACTIONS_BY_NAME[decision.action], record.guide)
    )
    accepted = _latest(record, "accept", decision.seq)
    delivery = None
    if source.action == "deliver":
        p = source.payload
        method = str(p.get("method", ""))
        try:
            method_label = DELIVERY_LABELS[DeliveryMethod(method)]
        except ValueError:
            method_label = method
        delivery = Delivery(
            method_label,
            str(p.get("carrier", "")),
            str(p.get("tracking_no", "")),
            source.at,
            f"{source.actor_name}（{_unit(record, source.unit)}）",
        )
    c = record.case
    header = _header(record, Kind.DECISION_NOTICE, decision, decision.at)
    return DecisionNotice(
        header=header,
        reviewer=decision.actor_name,
        decided_at=decision.at,
        accepted_at=accepted.at if accepted else None,
        approved=approved,
        decision_label=label,
        reasons=tuple(decision.reasons),
        remedies="" if approved else remedies(),
        delivery_preference=DELIVERY_LABELS[c.delivery_preference],
        delivery_address=c.delivery_address,
        delivery=delivery,
    )


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _details(record: CaseRecord, event: AuditEvent, labels: dict[str, str]) -> tuple[str, ...]:
    out = []
    for name in sorted(event.payload):
        value = event.payload[name]
        if value in ("", [], None) or name in ("remedies", "notice_items"):
            continue
        if name == "kind" or (name == "verified" and event.payload.get("person") == value):
            continue  # the title, or the person field, says it
        if name in ("department", "department_code"):
            value = f"{value} {_unit(record, str(value))}"
        elif name == "materials" and record.guide is not None:
            guide = record.guide
            value = [(spec.name if (spec := guide.material(str(v))) else v) for v in value]
        elif name in _VALUE_LABELS:
            value = _VALUE_LABELS[name].get(str(value), value)
        out.append(f"{labels.get(name, name)}：{_value(value)}")
    items = event.payload.get("notice_items")
    if items:
        out.append("告知补正事项：" + "；".join(str(i) for i in items))
    return tuple(out)


def _state_label(state: str | None) -> str:
    if not state:
        return "—"
    try:
        return STATE_LABELS[State(state)]
    except ValueError:
        return state


def _history(record: CaseRecord, source: AuditEvent, key: AuditKey) -> History:
    events = [e for e in record.events if e.seq <= source.seq]
    labels = field_labels() | _EXTRA_LABELS
    action_labels = dict(EVENT_LABELS) | {
        DOCUMENT_ISSUED: "出具文书",
        "deadline_warning": "时限预警",
        "deadline_overdue": "超期",
        "deadline_escalation": "超期督办",
    }
    lines = tuple(
        HistoryLine(
            seq=e.seq,
            at=e.at,
            actor=e.actor_name,
            role=_ROLES.get(e.role, e.role),
            unit=_unit(record, e.unit) if e.unit in record.units else e.unit,
            action=action_labels.get(e.action, e.action),
            from_state=_state_label(e.from_state),
            to_state=_state_label(e.to_state),
            reasons=tuple(e.reasons),
            details=_details(record, e, labels),
        )
        for e in events
    )
    breaks = check_events(key, record.case.case_no, events)
    if breaks:
        text = f"审计链校验未通过（第 1–{len(events)} 条事件）：" + "；".join(
            str(b) for b in breaks[:10]
        )
    else:
        text = (
            f"审计链校验通过：第 1–{len(events)} 条事件的序号连续，每条事件的 HMAC-SHA256 "
            f"校验值与内容相符，且逐条链接前一事件（密钥标识 {key.key_id}）。"
        )
    state = _state_label(source.to_state)
    return History(
        header=_header(record, Kind.HISTORY, source, source.at),
        state=state,
        events=lines,
        chain_ok=not breaks,
        chain_text=text,
    )


def sorted_kinds(kinds: Sequence[Kind]) -> list[Kind]:
    order = list(Kind)
    return sorted(kinds, key=order.index)
