"""Guards: the rules that refuse an action, each with a stable code and an actionable reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .states import ACTION_LABELS, Action, DeliveryMethod, Side


@dataclass(frozen=True)
class CaseFacts:
    """What the guards may know about a case; the machine moves `state`."""

    state: str
    originals_required: bool = False
    originals_arrived: bool = False


@dataclass(frozen=True)
class ActionInput:
    """What the person supplied with the action."""

    side: Side
    reasons: tuple[str, ...] = ()
    missing_materials: tuple[str, ...] = ()  # computed against the guide before the action
    notice_items: tuple[str, ...] = ()  # the one-time notice (一次性告知) of a supplement request
    carrier: str | None = None
    tracking_no: str | None = None
    delivery_method: DeliveryMethod | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


Guard = Callable[[CaseFacts, ActionInput, Action], Refusal | None]


def _has_text(values: tuple[str, ...]) -> bool:
    return any(v.strip() for v in values)


def reasons_given(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    if _has_text(inp.reasons):
        return None
    return Refusal("transition.reason_required", f"「{ACTION_LABELS[action]}」须写明理由。")


def materials_complete(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    if not inp.missing_materials:
        return None
    missing = "、".join(inp.missing_materials)
    return Refusal(
        "formal_review.materials_missing",
        f"材料不齐全，缺少：{missing}。请一次性告知申请人补正，或补录已收材料。",
    )


def notice_lists_items(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    if _has_text(inp.notice_items):
        return None
    return Refusal(
        "supplement.notice_empty",
        "一次性告知书须列明需补正的全部材料，请至少填写一项。",
    )


def originals_needed(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    if facts.originals_required:
        return None
    return Refusal(
        "originals.not_required",
        "本件无须寄递原件（操作指南未要求审查原件，或已由电子证照核验）。",
    )


def tracking_given(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    if (inp.carrier or "").strip() and (inp.tracking_no or "").strip():
        return None
    return Refusal("mail.tracking_required", "寄递须填写寄递企业和运单号。")


def originals_in_hand(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    if not facts.originals_required or facts.originals_arrived:
        return None
    return Refusal(
        "decision.originals_missing",
        "须审查的申请材料原件尚未寄达，不能作出审批决定。请先确认原件寄达。",
    )


def delivery_fits_side(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    method = inp.delivery_method
    if method is None:
        return Refusal(
            "delivery.method_required",
            "请选择送达方式：寄递纸质结果、网络送达或收件窗口领取。",
        )
    if method is DeliveryMethod.WINDOW and inp.side is not Side.WINDOW:
        return Refusal("delivery.wrong_side", "窗口领取的结果由收件窗口交付申请人。")
    if method is not DeliveryMethod.WINDOW and inp.side is not Side.HOME:
        return Refusal("delivery.wrong_side", "寄递和网络送达由办理地部门操作。")
    if method is DeliveryMethod.MAIL:
        return tracking_given(facts, inp, action)
    return None


GUARDS: dict[Action, tuple[Guard, ...]] = {
    Action.PASS_FORMAL_REVIEW: (materials_complete,),
    Action.REQUEST_SUPPLEMENT: (notice_lists_items,),
    Action.NOT_ACCEPT: (reasons_given,),
    Action.FAIL_IDENTITY: (reasons_given,),
    Action.RETURN: (reasons_given,),
    Action.MAIL_ORIGINALS: (originals_needed, tracking_given),
    Action.APPROVE: (originals_in_hand,),
    Action.REFUSE: (originals_in_hand, reasons_given),
    Action.DELIVER: (delivery_fits_side,),
}


def first_refusal(facts: CaseFacts, inp: ActionInput, action: Action) -> Refusal | None:
    for guard in GUARDS.get(action, ()):
        refusal = guard(facts, inp, action)
        if refusal is not None:
            return refusal
    return None
