"""The action table: every action a person takes on a case, declared once.

Each row says which command carries the action's input, the states it leaves and enters,
the side that takes it, the conditions that must hold of the case for it to be offered
(`when`) and the checks on what the person handed in (`checks`). The one transitions
machine (workflow.machine), the services, the API routes and the workbench forms all read
this table. Adding an action is a row here, its command in workflow.commands, its guards
in workflow.guards, and its form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .commands import (
    Accept,
    Approve,
    CaseCommand,
    Complete,
    Decline,
    DeemWithdrawn,
    Deliver,
    EndSpecialProcedure,
    FailIdentity,
    Forward,
    MailOriginals,
    NotAccept,
    PassFormalReview,
    ReceiveHomeSupplement,
    ReceiveOriginals,
    Refuse,
    RequestHomeSupplement,
    RequestSupplement,
    Resume,
    ReturnOriginals,
    ReturnToWindow,
    SendToWindow,
    StartSpecialProcedure,
    Supplement,
    Suspend,
    Terminate,
    Transfer,
    VerifyIdentity,
    Withdraw,
)
from .delivery import methods_for
from .guards import (
    CaseFacts,
    Guard,
    delivery_fits_side,
    document_matches,
    fresh_materials,
    home_notice_lists_items,
    legal_basis_given,
    materials_complete,
    not_on_hold,
    notice_lists_items,
    on_hold,
    originals_given_back,
    originals_held,
    originals_in_hand,
    originals_needed,
    reasons_given,
    result_in_hand,
    return_tracked,
    scans_complete,
    supplement_materials_known,
    supplement_period_over,
    tracking_given,
    verified_party,
)
from .guide import GuideConfig, Material, check_materials
from .holds import Hold
from .remedies import remedies
from .stages import Stage
from .states import BEFORE_DECISION, DECIDING, Side, State

# The receipt creates a case, so it is no transition; its audit events carry this name.
RECEIVE = "receive"
RECEIVE_LABEL = "收件登记"
# An uploaded scan is no transition either; its audit event carries this name.
UPLOAD = "upload_material"
UPLOAD_LABEL = "上传材料"
# While the window holds the case it may add scans: before the push, and when the case is
# back for a supplement. Once forwarded, what the home department reviews stays as sent.
UPLOAD_STATES: frozenset[State] = frozenset(
    {State.RECEIVED, State.SUPPLEMENTING, State.FORMALLY_REVIEWED, State.IDENTITY_VERIFIED,
     State.RETURNED}
)  # fmt: skip


def _supplied(facts: CaseFacts, cmd: CaseCommand) -> tuple[Material, ...]:
    assert isinstance(cmd, Supplement)
    if facts.guide is None:
        return ()  # no guide to name the materials by (the services always have one)
    return check_materials(facts.guide, fresh_materials(facts, cmd))


def _licences(facts: CaseFacts, cmd: CaseCommand) -> Mapping[str, Any]:
    """The electronic licence numbers of the materials a supplement hands in."""
    numbers = {m.code: m.licence_no for m in _supplied(facts, cmd) if m.licence_no}
    return {"licences": numbers} if numbers else {}


def _verified(facts: CaseFacts, cmd: CaseCommand) -> Mapping[str, Any]:
    assert isinstance(cmd, VerifyIdentity)
    return verified_party(facts, cmd)


def _remedies(facts: CaseFacts, cmd: CaseCommand) -> Mapping[str, Any]:
    assert isinstance(cmd, NotAccept)
    return {"remedies": remedies(cmd.review_body, cmd.court)}


def _department_named(cmd: CaseCommand) -> str:
    assert isinstance(cmd, Transfer)
    return cmd.department_code.strip()


def _decision_named(facts: CaseFacts, cmd: CaseCommand) -> Mapping[str, Any]:
    if facts.guide is None:
        return {}
    return {"decision_label": facts.guide.decision_label(isinstance(cmd, Approve))}


def _delivery_choices(side: Side) -> tuple[str, ...]:
    return tuple(m.value for m in methods_for(side))


@dataclass(frozen=True)
class Action:
    name: str  # stable: URLs, audit events, the machine's trigger
    label: str  # what people read
    command: type[CaseCommand]
    sources: tuple[State, ...]
    target: State | None  # None: the case stays in the state it is in (a hold starts or ends)
    side: Side
    when: tuple[Guard, ...] = ()  # conditions on the case: unmet, the action is not offered
    checks: tuple[Guard, ...] = ()  # checks when it is tried, mostly on the input
    # Materials the action hands in (a supplement), already checked against the guide.
    hands_in: Callable[[CaseFacts, CaseCommand], tuple[Material, ...]] | None = None
    # The values this side may choose for the action's one choice field (delivery method).
    choices: Callable[[Side], tuple[str, ...]] | None = None
    # Its guards look at the materials handed in (the case's facts carry them only then).
    reads_materials: bool = False
    # What its audit event records beyond the input, from the case (who was checked).
    records: Callable[[CaseFacts, CaseCommand], Mapping[str, Any]] | None = None
    # The department the action hands the case over to (转办), by its code; the running
    # stage's clock stops for the one and starts for the other.
    hands_over: Callable[[CaseCommand], str] | None = None
    # The hold the action starts, or ends (workflow.holds): the running stage's clock
    # pauses at the start and runs again from the day after the end.
    starts_hold: Hold | None = None
    ends_hold: Hold | None = None
    # A watched period the action opens or closes: the applicant's 补正期限
    # (Stage.SUPPLEMENT) or a 特别程序's expected days (Stage.SPECIAL).
    period: tuple[Literal["open", "close"], Stage] | None = None
    # Sends back the originals the department holds (原件退还), if it holds any.
    returns_originals: bool = False


W, H, E = Side.WINDOW, Side.HOME, Side.EITHER
S = State

ACTIONS: tuple[Action, ...] = (
    # --- window: formal review, identity check, forwarding -------------------------------
    Action("pass_formal_review", "形式审查通过", PassFormalReview,
           (S.RECEIVED,), S.FORMALLY_REVIEWED, W, checks=(materials_complete,),
           reads_materials=True),
    Action("request_supplement", "一次性告知补正", RequestSupplement,
           (S.RECEIVED, S.RETURNED), S.SUPPLEMENTING, W, checks=(notice_lists_items,),
           period=("open", Stage.SUPPLEMENT)),
    Action("supplement", "补正材料", Supplement,
           (S.SUPPLEMENTING,), S.RECEIVED, W, checks=(supplement_materials_known,),
           hands_in=_supplied, reads_materials=True, records=_licences,
           period=("close", Stage.SUPPLEMENT)),
    # The window never refuses acceptance: it declines to receive (不予收件).
    Action("decline", "不予收件", Decline,
           (S.RECEIVED, S.SUPPLEMENTING, S.RETURNED), S.DECLINED, W,
           checks=(reasons_given,)),
    Action("verify_identity", "身份核验通过", VerifyIdentity,
           (S.FORMALLY_REVIEWED,), S.IDENTITY_VERIFIED, W, checks=(document_matches,),
           records=_verified),
    Action("fail_identity", "身份核验不通过", FailIdentity,
           (S.FORMALLY_REVIEWED,), S.IDENTITY_FAILED, W, checks=(reasons_given,)),
    # The scans go with the case: a required material without a file blocks the push.
    Action("forward", "在线推送", Forward,
           (S.IDENTITY_VERIFIED, S.RETURNED), S.FORWARDED, W, checks=(scans_complete,),
           reads_materials=True),
    # --- home: acceptance is the competent department's (行政许可法 第三十二条) ----------
    Action("accept", "受理", Accept, (S.FORWARDED,), S.ACCEPTED, H),
    Action("not_accept", "不予受理", NotAccept, (S.FORWARDED,), S.NOT_ACCEPTED, H,
           checks=(reasons_given, legal_basis_given), records=_remedies),
    Action("transfer", "转办", Transfer, (S.FORWARDED,), S.FORWARDED, H,
           checks=(reasons_given,), hands_over=_department_named),
    Action("return_to_window", "退回补正", ReturnToWindow,
           (S.FORWARDED,), S.RETURNED, H, checks=(reasons_given,)),
    # --- originals by mail --------------------------------------------------------------
    Action("mail_originals", "寄递原件", MailOriginals,
           (S.ACCEPTED,), S.ORIGINALS_MAILED, W,
           when=(originals_needed,), checks=(tracking_given,)),
    Action("receive_originals", "确认原件寄达", ReceiveOriginals,
           (S.ORIGINALS_MAILED,), S.ORIGINALS_RECEIVED, H),
    # --- time that does not count: the case stays where it is, its clock paused ---------
    Action("request_home_supplement", "受理后告知补正", RequestHomeSupplement,
           DECIDING, None, H, when=(originals_in_hand, not_on_hold),
           checks=(home_notice_lists_items,), starts_hold=Hold.SUPPLEMENT,
           period=("open", Stage.SUPPLEMENT)),
    Action("receive_home_supplement", "收到补正材料", ReceiveHomeSupplement,
           DECIDING, None, H, when=(on_hold(Hold.SUPPLEMENT),), ends_hold=Hold.SUPPLEMENT,
           period=("close", Stage.SUPPLEMENT)),
    Action("suspend", "中止办理", Suspend, DECIDING, None, H,
           when=(originals_in_hand, not_on_hold), checks=(reasons_given, legal_basis_given),
           starts_hold=Hold.SUSPENDED),
    Action("resume", "恢复办理", Resume, DECIDING, None, H,
           when=(on_hold(Hold.SUSPENDED),), ends_hold=Hold.SUSPENDED),
    Action("start_special_procedure", "启动特别程序", StartSpecialProcedure,
           DECIDING, None, H, when=(originals_in_hand, not_on_hold),
           checks=(reasons_given,), starts_hold=Hold.SPECIAL,
           period=("open", Stage.SPECIAL)),
    Action("end_special_procedure", "特别程序结束", EndSpecialProcedure, DECIDING, None, H,
           when=(on_hold(Hold.SPECIAL),), ends_hold=Hold.SPECIAL,
           period=("close", Stage.SPECIAL)),
    # --- decision -----------------------------------------------------------------------
    Action("approve", "准予办理", Approve,
           DECIDING, S.APPROVED, H, when=(originals_in_hand, not_on_hold),
           records=_decision_named),
    Action("refuse", "不予办理", Refuse,
           DECIDING, S.REFUSED, H,
           when=(originals_in_hand, not_on_hold), checks=(reasons_given,),
           records=_decision_named),
    # 终止: the department ends the case without deciding (the applicant died, the company
    # was dissolved...), also during a hold.
    Action("terminate", "终止办理", Terminate,
           (S.ACCEPTED, S.ORIGINALS_MAILED, S.ORIGINALS_RECEIVED), S.TERMINATED, H,
           checks=(reasons_given, legal_basis_given, return_tracked), returns_originals=True),
    # --- result and closing: mail and electronic by the home side, pickup at the window --
    # A result for pickup goes to the window first; the window hands it over when the
    # applicant comes (the waiting is nobody's 超期).
    Action("send_to_window", "结果送至窗口", SendToWindow,
           (S.APPROVED, S.REFUSED), S.AT_WINDOW, H),
    Action("deliver", "结果送达", Deliver,
           (S.APPROVED, S.REFUSED, S.AT_WINDOW), S.DELIVERED, E, when=(result_in_hand,),
           checks=(delivery_fits_side,), choices=_delivery_choices),
    # The originals the department examined go back before the case completes.
    Action("return_originals", "原件退还", ReturnOriginals,
           (S.APPROVED, S.REFUSED, S.AT_WINDOW, S.DELIVERED), None, H, when=(originals_held,),
           checks=(tracking_given,), returns_originals=True),
    Action("complete", "办结", Complete, (S.DELIVERED,), S.COMPLETED, E,
           when=(originals_given_back,)),
    # The applicant may withdraw at either place, any time before the decision.
    Action("withdraw", "撤回", Withdraw, BEFORE_DECISION, S.WITHDRAWN, E,
           checks=(return_tracked,), returns_originals=True),
    # 视为撤回: the applicant let the 补正期限 run out; the side that asked closes the case.
    Action("deem_withdrawn", "视为撤回", DeemWithdrawn,
           (S.SUPPLEMENTING, *DECIDING), S.WITHDRAWN, E, when=(supplement_period_over,),
           period=("close", Stage.SUPPLEMENT)),
)  # fmt: skip
del W, H, E, S

ACTIONS_BY_NAME: Mapping[str, Action] = {a.name: a for a in ACTIONS}
# The decisions, which each item's guide may name in its own words.
_DECISIONS = {"approve": True, "refuse": False}


def label_of(action: Action, guide: GuideConfig | None) -> str:
    """What people read for `action` on a case under `guide` (准予许可, 出具公证书...)."""
    if guide is not None and action.name in _DECISIONS:
        return guide.decision_label(_DECISIONS[action.name])
    return action.label


_BY_COMMAND: Mapping[type[CaseCommand], Action] = {a.command: a for a in ACTIONS}

# What an audit event's action is called, for every action the chain records.
EVENT_LABELS: Mapping[str, str] = {RECEIVE: RECEIVE_LABEL, UPLOAD: UPLOAD_LABEL} | {
    a.name: a.label for a in ACTIONS
}


def action_of(command: CaseCommand) -> Action:
    return _BY_COMMAND[type(command)]
