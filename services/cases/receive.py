"""收件: a window clerk registers an application received at the window.

The case number is `<office code>-<yyyymmdd>-<seq>`, taken from a per-office, per-day
counter row in the same transaction: concurrent instances serialise on that row, so two
windows never print the same number, and a refused receipt gives its number back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from tongban.workflow.actions import RECEIVE
from tongban.workflow.calendar import SHANGHAI
from tongban.workflow.commands import Application
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.guide import (
    GuideConfig,
    MaterialsInvalid,
    check_materials,
    originals_required,
)
from tongban.workflow.identity import (
    ApplicantKind,
    InvalidIdentityNumber,
    mask,
    validate_applicant_id,
)
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
    id_number = _applicant_id(kind, app.applicant_id_number)
    if not app.applicant_name.strip():
        raise InvalidInput("applicant_name：请填写申请人姓名或单位名称。", field="applicant_name")
    method = _delivery_method(app.delivery_preference)
    day = now.astimezone(SHANGHAI).date()
    with uow.batching():
        store = CaseStore(uow)
        found, seq = store.open_receipt(
            item_code=app.item_code,
            department_code=app.department_code,
            office_id=actor.office_id,
            day=day,
        )
        refs = _references(found, app)
        guide = config_of(uow, refs.guide_id)
        _check_delivery(guide, method, app.delivery_address)
        try:
            materials = check_materials(guide, app.materials)
        except MaterialsInvalid as err:
            raise InvalidInput(str(err), field=err.field) from None
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
                "applicant_id": mask(id_number),
                "materials": [m.code for m in materials],
                "originals_required": required,
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
                "mode": "proxy",
                "state": State.RECEIVED,
                "version": 1,
                "office_id": actor.office_id,
                "department_id": refs.department_id,
                "applicant_kind": kind,
                "applicant_name": app.applicant_name.strip(),
                "applicant_id_number": id_number,
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
            f"applicant_kind：应为 person（自然人）或 company（法人），实际为「{value}」。",
            field="applicant_kind",
        ) from None


def _applicant_id(kind: ApplicantKind, number: str) -> str:
    try:
        return validate_applicant_id(kind, number, "applicant_id_number")
    except InvalidIdentityNumber as err:
        raise InvalidInput(str(err), code=err.code, field="applicant_id_number") from None


def _delivery_method(value: str) -> DeliveryMethod:
    try:
        return DeliveryMethod(value)
    except ValueError:
        raise InvalidInput(
            "delivery_preference：应为 mail（寄递）、electronic（网络送达）或 window（窗口领取）。",
            field="delivery_preference",
        ) from None


@dataclass(frozen=True)
class _Found:
    item_id: int
    guide_id: int
    guide_version: int
    department_id: int


def _references(refs: References | None, app: Application) -> _Found:
    """The item, its current guide and the department, or the first that is missing."""
    if refs is None:
        raise InvalidInput(f"item_code：事项「{app.item_code}」不存在。", field="item_code")
    if refs.department_id is None:
        raise InvalidInput(
            f"department_code：办理地部门「{app.department_code}」不存在。",
            field="department_code",
        )
    if refs.guide_id is None or refs.guide_version is None:
        raise InvalidInput(
            f"item_code：事项「{refs.item_name}」尚无操作指南，不能收件。请联系管理员加载指南。",
            code="guide.missing",
            field="item_code",
        )
    return _Found(refs.item_id, refs.guide_id, refs.guide_version, refs.department_id)


def _check_delivery(config: GuideConfig, method: DeliveryMethod, address: str) -> None:
    if method not in config.results:
        offered = "、".join(m.value for m in config.results)
        raise InvalidInput(
            f"delivery_preference：本事项的结果只能以 {offered} 方式发放。",
            field="delivery_preference",
        )
    if method is DeliveryMethod.MAIL and not address.strip():
        raise InvalidInput("delivery_address：寄递结果须填写收件地址。", field="delivery_address")
