"""The documents a case hands out (文书): what each is called, who issues it, and which
audit event it renders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tongban.workflow.actions import RECEIVE
from tongban.workflow.states import Side

# The audit event recording that a document was issued; it never moves the case.
DOCUMENT_ISSUED = "document_issued"


class Kind(StrEnum):
    RECEIPT = "receipt"
    SUPPLEMENT_NOTICE = "supplement-notice"
    DECLINE_NOTICE = "decline-notice"
    NOT_ACCEPTED_NOTICE = "not-accepted-notice"
    TRANSFER_SLIP = "transfer-slip"
    DECISION_NOTICE = "decision-notice"
    HISTORY = "history"


@dataclass(frozen=True)
class KindSpec:
    title: str  # the document's official title
    short: str  # what a print button says
    code: str  # in the document number
    issuer: Side  # the receiving office or the home department
    # The actions whose latest event the document renders; empty: the latest event of any
    # kind but a document issue (the history).
    sources: tuple[str, ...]
    # Why it does not apply when no such event exists.
    missing: str


SPECS: dict[Kind, KindSpec] = {
    Kind.RECEIPT: KindSpec(
        "跨省通办收件回执", "收件回执", "SJ", Side.WINDOW, (RECEIVE,), "本件尚未收件登记。"
    ),
    Kind.SUPPLEMENT_NOTICE: KindSpec(
        "补正材料一次性告知书",
        "一次性告知书",
        "BZ",
        Side.WINDOW,
        ("request_supplement",),
        "本件没有一次性告知补正，无一次性告知书。",
    ),
    Kind.DECLINE_NOTICE: KindSpec(
        "不予收件告知书",
        "不予收件告知书",
        "BS",
        Side.WINDOW,
        ("decline",),
        "本件未被收件窗口不予收件，无不予收件告知书。",
    ),
    Kind.NOT_ACCEPTED_NOTICE: KindSpec(
        "不予受理通知书",
        "不予受理通知书",
        "BL",
        Side.HOME,
        ("not_accept",),
        "办理地部门未作出不予受理决定，无不予受理通知书。",
    ),
    Kind.TRANSFER_SLIP: KindSpec(
        "跨省通办流转单",
        "流转单",
        "LZ",
        Side.WINDOW,
        ("mail_originals",),
        "本件尚未寄递原件，无流转单。",
    ),
    Kind.DECISION_NOTICE: KindSpec(
        "审批结果通知书（送达回证）",
        "审批结果通知书",
        "JG",
        Side.HOME,
        ("approve", "refuse", "deliver"),
        "办理地部门尚未作出审批决定，无审批结果通知书。",
    ),
    Kind.HISTORY: KindSpec(
        "跨省通办办件全流程记录", "全流程记录", "LS", Side.EITHER, (), "本件没有任何记录。"
    ),
}

KIND_LABELS: dict[Kind, str] = {kind: spec.short for kind, spec in SPECS.items()}


def kind_of(text: str) -> Kind | None:
    try:
        return Kind(text)
    except ValueError:
        return None
