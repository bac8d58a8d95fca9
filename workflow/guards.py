"""Guards: the rules that refuse an action, each with a stable code and an actionable reason.

A guard is `(facts, attempt) -> Refusal | None`. The action table lists two kinds:

- conditions (`when`) look only at the case, so `options()` can tell a person which actions
  are open before they type anything (no originals to mail, originals not yet here);
- checks look at what the person handed in (a reason, a tracking number, a document).

Both become `conditions` of the one transitions machine, so each refuses exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .commands import (
    CaseCommand,
    Deliver,
    Forward,
    MailOriginals,
    MaterialIn,
    RequestHomeSupplement,
    RequestSupplement,
    ReturningOriginals,
    ReturnOriginals,
    Supplement,
    VerifyIdentity,
    WithLegalBasis,
    WithOptionalReasons,
    WithReasons,
    has_text,
)
from .delivery import DELIVERY_SIDE, DeliveryMethod
from .guide import (
    GuideConfig,
    Material,
    MaterialsInvalid,
    check_materials,
    missing_materials,
    paper_refused,
    unscanned,
)
from .holds import HOLD_LABELS, Hold
from .identity import (
    DOCUMENT_LABELS,
    ApplicantKind,
    DocumentType,
    InvalidIdentityNumber,
    validate_document,
)
from .parties import AGENT_ROLE_LABELS, AgentRole, Party, Present
from .states import Side, State

_NOBODY = Party("", DocumentType.RESIDENT_ID, "")


@dataclass(frozen=True)
class CaseFacts:
    """What the guards may know about a case; the machine moves `state`."""

    state: State
    originals_required: bool = False
    originals_arrived: bool = False
    applicant_kind: ApplicantKind = ApplicantKind.PERSON
    applicant: Party = _NOBODY
    agent: Party | None = None
    agent_role: AgentRole | None = None
    handed_in: tuple[Material, ...] = ()
    guide: GuideConfig | None = None
    hold: Hold | None = None  # time not counted while it lasts (workflow.holds)
    # The applicant's 补正期限 has run out (the caller compares it with the time it acts at).
    supplement_overdue: bool = False
    originals_returned: bool = False  # 原件退还: sent back to the applicant
    # The material slots with at least one uploaded file (read with the materials).
    scanned: frozenset[str] = frozenset()

    @property
    def originals_held(self) -> bool:
        """The department holds the applicant's originals and has not sent them back."""
        return self.originals_arrived and not self.originals_returned


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    # Set when what the person typed is wrong (an input error, HTTP 422, naming the field);
    # unset when the case itself does not allow it now (a conflict, HTTP 409).
    field: str | None = None


@dataclass(frozen=True)
class Attempt:
    """Somebody trying an action: which, for which side, with what input (none yet while
    `options()` asks what is open)."""

    label: str
    side: Side
    command: CaseCommand | None = None


Guard = Callable[[CaseFacts, Attempt], Refusal | None]


def _has_text(values: tuple[str, ...]) -> bool:
    """Some value shows something (a reason of zero-width spaces is no reason)."""
    return any(has_text(v) for v in values)


# --- conditions on the case ----------------------------------------------------------------


def originals_needed(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    if facts.originals_required:
        return None
    return Refusal(
        "originals.not_required",
        "本件无须寄递原件（操作指南未要求审查原件，或已由电子证照核验）。",
    )


def originals_in_hand(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    if not facts.originals_required or facts.originals_arrived:
        return None
    return Refusal(
        "decision.originals_missing",
        "须审查的申请材料原件尚未寄达，不能作出审批决定。请先确认原件寄达。",
    )


# --- checks on what the person handed in ---------------------------------------------------


def reasons_given(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, WithReasons | WithOptionalReasons)
    if _has_text(cmd.reasons):
        return None
    return Refusal("transition.reason_required", f"「{attempt.label}」须写明理由。")


def legal_basis_given(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, WithLegalBasis)
    if has_text(cmd.legal_basis):
        return None
    return Refusal(
        "transition.basis_required",
        f"法律依据：「{attempt.label}」须写明所依据的法律、法规条款。",
        field="legal_basis",
    )


def not_on_hold(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    """Nothing is decided, and no second hold starts, while a hold lasts."""
    if facts.hold is None:
        return None
    return Refusal(
        "hold.active",
        f"本件正处于「{HOLD_LABELS[facts.hold]}」期间，须先结束后才能「{attempt.label}」。",
    )


def on_hold(kind: Hold) -> Guard:
    """The action ends a hold of `kind`, which must be the one that lasts."""

    def lasting(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
        if facts.hold is kind:
            return None
        return Refusal(
            "hold.not_active", f"本件不在「{HOLD_LABELS[kind]}」期间，不能「{attempt.label}」。"
        )

    lasting.__name__ = f"on_hold_{kind.value}"
    return lasting


def supplement_period_over(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    awaiting = facts.state is State.SUPPLEMENTING or facts.hold is Hold.SUPPLEMENT
    if awaiting and facts.supplement_overdue:
        return None
    return Refusal(
        "supplement.period_running",
        "申请人补正期限尚未届满（或本件不在补正期间），不能视为撤回。",
    )


def home_notice_lists_items(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, RequestHomeSupplement)
    if _has_text(cmd.notice_items):
        return None
    return Refusal(
        "supplement.notice_empty",
        "告知补正事项：须列明需补正的全部内容，请至少填写一项。",
        field="notice_items",
    )


def materials_complete(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    if facts.guide is None:
        return None  # a case from before guides were versioned: nothing to check against
    handed_in = (m.code for m in facts.handed_in)
    missing = missing_materials(facts.guide, handed_in, agent=facts.agent is not None)
    if not missing:
        return None
    return Refusal(
        "formal_review.materials_missing",
        f"材料不齐全，缺少：{'、'.join(missing)}。请一次性告知申请人补正，或补录已收材料。",
    )


def scans_complete(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    """A forward sends the scans: every material the guide marks 必交 has a file, an
    electronic licence, or is declared paper-only where the guide allows paper."""
    cmd = attempt.command
    assert isinstance(cmd, Forward)
    if facts.guide is None:
        return None
    paper = tuple(c.strip() for c in cmd.paper_only if c.strip())
    refused = paper_refused(facts.guide, paper)
    if refused:
        return Refusal(
            "forward.paper_not_allowed",
            f"仅交纸质件的材料：操作指南不允许以下材料只交纸质件：{'、'.join(refused)}。"
            "请上传其扫描件。",
            field="paper_only",
        )
    missing = unscanned(
        facts.guide, facts.handed_in, facts.scanned, paper, agent=facts.agent is not None
    )
    if not missing:
        return None
    return Refusal(
        "forward.scans_missing",
        f"以下必交材料尚无扫描件，不能推送：{'、'.join(missing)}。"
        "请先上传扫描件（PDF、JPEG、PNG 或 OFD），或对指南允许的材料注明仅交纸质件。",
    )


def notice_lists_items(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, RequestSupplement)
    if _has_text(cmd.notice_items):
        return None
    return Refusal(
        "supplement.notice_empty",
        "一次性告知书须列明需补正的全部材料，请至少填写一项。",
    )


def supplement_materials_known(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, Supplement)
    if facts.guide is None:
        return None
    try:
        check_materials(facts.guide, fresh_materials(facts, cmd))
    except MaterialsInvalid as err:
        return Refusal(err.code, str(err), field=err.field)
    return None


def fresh_materials(facts: CaseFacts, cmd: Supplement) -> tuple[MaterialIn, ...]:
    """What a supplement adds: the materials not handed in before."""
    have = {m.code for m in facts.handed_in}
    return tuple(m for m in cmd.materials if m.code not in have)


def document_matches(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    """The person present shows a well-formed document, the one registered for them at
    receipt. A company is checked through its 经办人, never by its credit code alone."""
    cmd = attempt.command
    assert isinstance(cmd, VerifyIdentity)
    party, refusal = _present(facts, cmd.person)
    if party is None:
        return refusal
    shown = cmd.document_type or party.document_type
    if shown is not party.document_type:
        return Refusal(
            "identity.mismatch",
            f"证件类型：{party.name}收件登记的是{DOCUMENT_LABELS[party.document_type]}，"
            f"所持为{DOCUMENT_LABELS[shown]}。请核对；确属不符的，请作「身份核验不通过」处理。",
            field="document_type",
        )
    try:
        seen = validate_document(shown, cmd.document_number, "证件号码")
    except InvalidIdentityNumber as err:
        return Refusal(err.code, str(err), field="document_number")
    if seen == party.document_number:
        return None
    return Refusal(
        "identity.mismatch",
        f"证件号码：所持证件号码与收件登记的{party.name}的号码不一致。"
        "请核对；确属不符的，请作「身份核验不通过」处理。",
        field="document_number",
    )


def _present(facts: CaseFacts, person: Present) -> tuple[Party | None, Refusal | None]:
    """The registered party who is being checked, or why that person cannot be."""
    if person is Present.AGENT:
        if facts.agent is None:
            return None, Refusal(
                "identity.no_agent",
                "核验对象：收件登记时没有登记代理人，请核验申请人本人。",
                field="person",
            )
        return facts.agent, None
    if facts.applicant_kind is ApplicantKind.COMPANY:
        role = AGENT_ROLE_LABELS[facts.agent_role or AgentRole.HANDLER]
        return None, Refusal(
            "identity.company_needs_agent",
            f"核验对象：法人办件须核验到场{role}的身份证件，不能只核对统一社会信用代码。"
            f"请选择「{role}」。",
            field="person",
        )
    return facts.applicant, None


def verified_party(facts: CaseFacts, cmd: VerifyIdentity) -> dict[str, str]:
    """What the audit event says of an identity check: who was checked, with what."""
    party = facts.agent if cmd.person is Present.AGENT else facts.applicant
    assert party is not None  # document_matches let it through
    return {
        "verified": cmd.person.value,
        "verified_name": party.name,
        "document_type": party.document_type.value,
    }


def _tracking(carrier: str, tracking_no: str) -> Refusal | None:
    if carrier.strip() and tracking_no.strip():
        return None
    return Refusal("mail.tracking_required", "寄递须填写寄递企业和运单号。")


def tracking_given(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, MailOriginals | ReturnOriginals)
    return _tracking(cmd.carrier, cmd.tracking_no)


def originals_held(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    if facts.originals_held:
        return None
    return Refusal("originals.not_held", "办理地部门未持有本件原件，或原件已退还申请人。")


def originals_given_back(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    """A case does not complete while the department still holds the applicant's originals."""
    if not facts.originals_held:
        return None
    return Refusal(
        "originals.not_returned",
        f"本件原件尚未退还申请人，不能「{attempt.label}」。请先办理原件退还（寄递企业、运单号）。",
    )


def return_tracked(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    """An ending while the originals are held says how they go back."""
    cmd = attempt.command
    assert isinstance(cmd, ReturningOriginals)
    if not facts.originals_held:
        return None
    refusal = _tracking(cmd.return_carrier, cmd.return_tracking_no)
    if refusal is None:
        return None
    return Refusal(
        "originals.return_required",
        f"办理地部门持有本件原件：「{attempt.label}」须同时写明原件退还的寄递企业和运单号。",
        field="return_tracking_no" if cmd.return_carrier.strip() else "return_carrier",
    )


def result_in_hand(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    """The department delivers what it decided; the window hands over what it was sent."""
    at_window = facts.state is State.AT_WINDOW
    if at_window == (attempt.side is Side.WINDOW):
        return None
    if at_window:
        return Refusal("delivery.at_window", "结果已送至收件窗口，由窗口交付申请人。")
    return Refusal(
        "delivery.not_at_window",
        "结果尚未送至收件窗口：窗口领取的，由办理地部门先“结果送至窗口”。",
    )


def delivery_fits_side(facts: CaseFacts, attempt: Attempt) -> Refusal | None:
    cmd = attempt.command
    assert isinstance(cmd, Deliver)
    owner = DELIVERY_SIDE.get(cmd.method)
    if owner is None:
        return Refusal(
            "delivery.method_required",
            "请选择送达方式：寄递纸质结果、网络送达或收件窗口领取。",
            field="method",
        )
    if owner is not attempt.side:
        if cmd.method == DeliveryMethod.WINDOW:
            return Refusal("delivery.wrong_side", "窗口领取的结果由收件窗口交付申请人。")
        return Refusal("delivery.wrong_side", "寄递和网络送达由办理地部门操作。")
    if cmd.method == DeliveryMethod.MAIL:
        return _tracking(cmd.carrier, cmd.tracking_no)
    return None
