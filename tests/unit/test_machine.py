"""The pure lifecycle machine, built from the action table: legal paths, refusals with
reasons, what each side is offered, and random action sequences."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongban.workflow.actions import ACTIONS, ACTIONS_BY_NAME, Action
from tongban.workflow.commands import (
    Accept,
    Approve,
    CaseCommand,
    Complete,
    Decline,
    DeemWithdrawn,
    Deliver,
    FailIdentity,
    Forward,
    MailOriginals,
    NotAccept,
    PassFormalReview,
    ReceiveOriginals,
    Refuse,
    RequestSupplement,
    ReturnOriginals,
    ReturnToWindow,
    SendToWindow,
    Supplement,
    Transfer,
    VerifyIdentity,
    Withdraw,
)
from tongban.workflow.deadlines import DeadlineOp, deadline_changes
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.guards import CaseFacts
from tongban.workflow.holds import Hold, SpecialProcedure
from tongban.workflow.identity import ApplicantKind, DocumentType
from tongban.workflow.machine import MACHINE, Refused, fire, options
from tongban.workflow.parties import AgentRole, Party, Present
from tongban.workflow.stages import Stage, stage_of
from tongban.workflow.states import BEFORE_DECISION, FINAL_STATES, Side, State

ID = "341702199003151236"
APPLICANT = Party("王芳", DocumentType.RESIDENT_ID, ID)
GUARDIAN_ID = "11010519491231002X"
NO = "CZ01-20260310-0001"


def good(cls: type[CaseCommand]) -> CaseCommand:
    """A command every check accepts (given a case registered with ID)."""
    extra: dict[str, Any] = {
        RequestSupplement: {"notice_items": ("身份证复印件",)},
        Decline: {"reasons": ("理由",)},
        Transfer: {"reasons": ("理由",), "department_code": "RS341700"},
        NotAccept: {"reasons": ("理由",), "legal_basis": "《行政许可法》第三十二条"},
        FailIdentity: {"reasons": ("理由",)},
        ReturnToWindow: {"reasons": ("理由",)},
        Refuse: {"reasons": ("理由",)},
        VerifyIdentity: {"document_number": ID},
        MailOriginals: {"carrier": "EMS", "tracking_no": "1100"},
        ReturnOriginals: {"carrier": "EMS", "tracking_no": "1102"},
        Deliver: {"method": DeliveryMethod.MAIL, "carrier": "EMS", "tracking_no": "1100"},
        Supplement: {"materials": ()},
    }.get(cls, {})
    return cls(case_no=NO, **extra)


def side_for(action: Action) -> Side:
    # Mail delivery (the good command) is the home side's.
    return Side.HOME if action.side is Side.EITHER else action.side


def run(path: list[type[CaseCommand]], originals: bool = False) -> CaseFacts:
    facts = CaseFacts(State.RECEIVED, originals_required=originals, applicant=APPLICANT)
    for cls in path:
        action = next(a for a in ACTIONS if a.command is cls)
        outcome = fire(facts, good(cls), side_for(action))
        facts = dataclasses.replace(
            facts,
            state=outcome.target,
            originals_arrived=facts.originals_arrived or outcome.originals_arrive,
            hold=outcome.hold,
            originals_returned=facts.originals_returned or outcome.originals_returned,
        )
    return facts


FRONT: list[type[CaseCommand]] = [PassFormalReview, VerifyIdentity, Forward, Accept]


def test_happy_path_with_originals() -> None:
    path = [*FRONT, MailOriginals, ReceiveOriginals, Approve, Deliver]
    delivered = run(path, originals=True)
    # The department still holds the originals: the case does not complete.
    assert "complete" not in [o.action.name for o in options(delivered, Side.WINDOW)]
    with pytest.raises(Refused) as held:
        fire(delivered, good(Complete), Side.HOME)
    assert held.value.code == "originals.not_returned"
    done = run([*path, ReturnOriginals, Complete], originals=True)
    assert done.state is State.COMPLETED and done.originals_returned


def test_an_ending_while_the_originals_are_held_sends_them_back() -> None:
    held = run([*FRONT, MailOriginals, ReceiveOriginals], originals=True)
    with pytest.raises(Refused) as err:
        fire(held, Withdraw(case_no=NO), Side.WINDOW)
    assert (err.value.code, err.value.field) == ("originals.return_required", "return_carrier")
    sent = Withdraw(case_no=NO, return_carrier="EMS", return_tracking_no="1103")
    outcome = fire(held, sent, Side.WINDOW)
    assert outcome.target is State.WITHDRAWN and outcome.originals_returned
    # Before they arrive there is nothing to send back.
    mailed = run([*FRONT, MailOriginals], originals=True)
    assert not fire(mailed, Withdraw(case_no=NO), Side.WINDOW).originals_returned


def test_happy_path_without_originals_skips_the_mailing_step() -> None:
    facts = run([*FRONT], originals=False)
    with pytest.raises(Refused) as err:
        fire(facts, good(MailOriginals), Side.WINDOW)
    assert err.value.code == "originals.not_required"
    assert run([*FRONT, Approve, Deliver, Complete]).state is State.COMPLETED


def test_decision_before_originals_is_refused_with_the_reason() -> None:
    facts = run(FRONT, originals=True)
    with pytest.raises(Refused) as err:
        fire(facts, good(Approve), Side.HOME)
    assert err.value.code == "decision.originals_missing"
    assert "原件尚未寄达" in str(err.value)


def test_not_allowed_names_state_and_action_in_chinese() -> None:
    with pytest.raises(Refused) as err:
        fire(CaseFacts(State.RECEIVED), good(Accept), Side.HOME)
    assert err.value.code == "transition.not_allowed"
    assert str(err.value) == "办件当前为「已收件」，不能执行「受理」。"


@pytest.mark.parametrize("cls", [Decline, NotAccept, ReturnToWindow, Refuse, FailIdentity])
def test_reasons_are_required(cls: type[CaseCommand]) -> None:
    action = next(a for a in ACTIONS if a.command is cls)
    blank = dataclasses.replace(good(cls), reasons=("  ",))
    with pytest.raises(Refused) as err:
        fire(CaseFacts(action.sources[0]), blank, action.side)
    assert err.value.code == "transition.reason_required"
    assert action.label in str(err.value)


def test_only_the_home_department_refuses_acceptance_with_basis_and_remedies() -> None:
    """The window declines to receive (不予收件); 不予受理 is the competent department's."""
    assert ACTIONS_BY_NAME["decline"].side is Side.WINDOW
    assert {a.side for a in ACTIONS if a.target is State.NOT_ACCEPTED} == {Side.HOME}
    window = {o.action.name for s in State for o in options(CaseFacts(s), Side.WINDOW)}
    assert "not_accept" not in window and "decline" in window
    refusal = NotAccept(case_no=NO, reasons=("非本部门职权",), legal_basis=" ")
    with pytest.raises(Refused) as err:
        fire(CaseFacts(State.FORWARDED), refusal, Side.HOME)
    assert (err.value.code, err.value.field) == ("transition.basis_required", "legal_basis")
    basis = "《行政许可法》第三十二条"
    given = dataclasses.replace(refusal, legal_basis=basis, court="某区人民法院")
    outcome = fire(CaseFacts(State.FORWARDED), given, Side.HOME)
    assert outcome.target is State.NOT_ACCEPTED and outcome.closes
    assert [(op.kind, op.stage) for op in outcome.deadlines] == [("close", Stage.ACCEPT)]
    told = outcome.recorded["remedies"]
    assert "60日内依法申请行政复议" in told and "6个月内向某区人民法院提起行政诉讼" in told


def test_a_transfer_restarts_the_accept_clock_for_the_department_taking_over() -> None:
    outcome = fire(CaseFacts(State.FORWARDED), good(Transfer), Side.HOME)
    assert outcome.target is State.FORWARDED
    assert [(op.kind, op.stage) for op in outcome.deadlines] == [
        ("close", Stage.ACCEPT),
        ("open", Stage.ACCEPT),
    ]
    assert outcome.action.hands_over is not None
    assert outcome.action.hands_over(good(Transfer)) == "RS341700"
    with pytest.raises(Refused):  # only while the case waits for acceptance
        fire(CaseFacts(State.ACCEPTED), good(Transfer), Side.HOME)


def test_supplement_requires_a_one_time_notice_and_pauses_the_deadline() -> None:
    with pytest.raises(Refused) as err:
        fire(CaseFacts(State.RECEIVED), RequestSupplement(case_no=NO, notice_items=()), Side.WINDOW)
    assert err.value.code == "supplement.notice_empty"
    out = fire(CaseFacts(State.RECEIVED), good(RequestSupplement), Side.WINDOW)
    # The window's clock stops; the applicant's 补正期限 starts.
    assert out.deadlines == (
        DeadlineOp("pause", Stage.FORWARD),
        DeadlineOp("open", Stage.SUPPLEMENT),
    )
    back = fire(CaseFacts(State.SUPPLEMENTING), good(Supplement), Side.WINDOW)
    assert back.deadlines == (
        DeadlineOp("resume", Stage.FORWARD),
        DeadlineOp("close", Stage.SUPPLEMENT),
    )
    # Declined while waiting: both end.
    gone = fire(CaseFacts(State.SUPPLEMENTING), good(Decline), Side.WINDOW)
    assert gone.deadlines == (
        DeadlineOp("close", Stage.FORWARD),
        DeadlineOp("close", Stage.SUPPLEMENT),
    )
    # 视为撤回 only once the period has run out.
    with pytest.raises(Refused) as early:
        fire(CaseFacts(State.SUPPLEMENTING), good(DeemWithdrawn), Side.WINDOW)
    assert early.value.code == "supplement.period_running"
    late = CaseFacts(State.SUPPLEMENTING, supplement_overdue=True)
    assert fire(late, good(DeemWithdrawn), Side.WINDOW).target is State.WITHDRAWN


def test_delivery_method_must_match_the_side() -> None:
    facts = CaseFacts(State.APPROVED)
    pickup = Deliver(case_no=NO, method=DeliveryMethod.WINDOW)
    # The window has no result to hand over until the department sends it there.
    with pytest.raises(Refused) as early:
        fire(facts, pickup, Side.WINDOW)
    assert early.value.code == "delivery.not_at_window"
    sent = fire(facts, SendToWindow(case_no=NO), Side.HOME)
    assert sent.target is State.AT_WINDOW
    assert sent.deadlines == (DeadlineOp("close", Stage.DELIVER), DeadlineOp("open", Stage.PICKUP))
    at_window = CaseFacts(State.AT_WINDOW)
    with pytest.raises(Refused) as err:
        fire(at_window, pickup, Side.HOME)
    assert err.value.code == "delivery.at_window"
    handed = fire(at_window, pickup, Side.WINDOW)
    assert handed.target is State.DELIVERED
    assert handed.deadlines == (DeadlineOp("close", Stage.PICKUP),)


def test_the_identity_document_is_checked_against_the_registered_number() -> None:
    facts = CaseFacts(State.FORMALLY_REVIEWED, applicant=APPLICANT)
    other = VerifyIdentity(case_no=NO, document_number="110101199003070070")
    with pytest.raises(Refused) as err:
        fire(facts, other, Side.WINDOW)
    assert (err.value.code, err.value.field) == ("identity.mismatch", "document_number")
    typo = VerifyIdentity(case_no=NO, document_number=ID[:-1] + "0")
    with pytest.raises(Refused) as err:
        fire(facts, typo, Side.WINDOW)
    assert (err.value.code, err.value.field) == ("input.invalid_id_number", "document_number")
    # Full-width digits and spaces, as typed from a card, are the same number.
    spaced = VerifyIdentity(case_no=NO, document_number=" ３４１７０２ 199003151236")
    assert fire(facts, spaced, Side.WINDOW).target is State.IDENTITY_VERIFIED


def test_the_person_present_is_checked_against_their_own_document() -> None:
    """A minor's case: the guardian shows up, and it is the guardian who is checked."""
    guardian = Party("王建国", DocumentType.RESIDENT_ID, GUARDIAN_ID)
    facts = CaseFacts(
        State.FORMALLY_REVIEWED, applicant=APPLICANT, agent=guardian,
        agent_role=AgentRole.GUARDIAN,
    )  # fmt: skip
    as_applicant = VerifyIdentity(case_no=NO, document_number=GUARDIAN_ID)
    with pytest.raises(Refused) as err:  # the guardian's card, checked as the applicant's
        fire(facts, as_applicant, Side.WINDOW)
    assert err.value.code == "identity.mismatch"
    right = VerifyIdentity(case_no=NO, person=Present.AGENT, document_number=GUARDIAN_ID)
    outcome = fire(facts, right, Side.WINDOW)
    assert outcome.target is State.IDENTITY_VERIFIED
    assert outcome.recorded == {
        "verified": "agent", "verified_name": "王建国", "document_type": "resident_id",
    }  # fmt: skip
    wrong_type = VerifyIdentity(
        case_no=NO, person=Present.AGENT, document_type=DocumentType.PASSPORT,
        document_number="E12345678",
    )  # fmt: skip
    with pytest.raises(Refused) as err:
        fire(facts, wrong_type, Side.WINDOW)
    assert (err.value.code, err.value.field) == ("identity.mismatch", "document_type")


def test_a_company_is_checked_through_its_handler_never_by_its_credit_code() -> None:
    code = "91350100M000100Y43"
    handler = Party("李明", DocumentType.HK_MACAO_PASS, "H12345678")
    facts = CaseFacts(
        State.FORMALLY_REVIEWED, applicant_kind=ApplicantKind.COMPANY,
        applicant=Party("某某有限公司", DocumentType.CREDIT_CODE, code), agent=handler,
        agent_role=AgentRole.HANDLER,
    )  # fmt: skip
    with pytest.raises(Refused) as err:
        fire(facts, VerifyIdentity(case_no=NO, document_number=code), Side.WINDOW)
    assert (err.value.code, err.value.field) == ("identity.company_needs_agent", "person")
    assert "经办人" in str(err.value)
    shown = VerifyIdentity(case_no=NO, person=Present.AGENT, document_number="h12345678")
    assert fire(facts, shown, Side.WINDOW).recorded["verified_name"] == "李明"
    nobody = CaseFacts(State.FORMALLY_REVIEWED, applicant=APPLICANT)
    with pytest.raises(Refused) as err:
        fire(nobody, shown, Side.WINDOW)
    assert (err.value.code, err.value.field) == ("identity.no_agent", "person")


def test_withdraw_is_offered_before_the_decision_only() -> None:
    for state in State:
        offered = {o.action.name for o in options(CaseFacts(state), Side.WINDOW)}
        assert ("withdraw" in offered) == (state in BEFORE_DECISION), state


def test_options_come_from_the_table_and_the_conditions_on_the_case() -> None:
    accepted = CaseFacts(State.ACCEPTED, originals_required=True)
    assert [o.action.name for o in options(accepted, Side.WINDOW)] == [
        "mail_originals",
        "withdraw",
    ]
    # Originals not yet here: no decision is offered to the home side.
    assert [o.action.name for o in options(accepted, Side.HOME)] == ["terminate", "withdraw"]
    arrived = dataclasses.replace(accepted, state=State.ORIGINALS_RECEIVED, originals_arrived=True)
    assert [o.action.name for o in options(arrived, Side.HOME)] == [
        "request_home_supplement",
        "suspend",
        "start_special_procedure",
        "approve",
        "refuse",
        "terminate",
        "withdraw",
    ]
    # During a hold only its end, 终止 and 撤回 are open.
    held = dataclasses.replace(arrived, hold=Hold.SPECIAL)
    assert [o.action.name for o in options(held, Side.HOME)] == [
        "end_special_procedure",
        "terminate",
        "withdraw",
    ]
    # Delivery: the department mails, sends electronically or sends to the window; the
    # window hands over what it was sent.
    approved = CaseFacts(State.APPROVED)
    assert [o.action.name for o in options(approved, Side.HOME)] == ["send_to_window", "deliver"]
    assert options(approved, Side.HOME)[1].choices == ("mail", "electronic")
    assert options(approved, Side.WINDOW) == []
    (window,) = options(CaseFacts(State.AT_WINDOW), Side.WINDOW)
    assert window.choices == ("window",)
    assert options(CaseFacts(State.COMPLETED), Side.HOME) == []


def test_the_machine_is_shared_and_keeps_no_models() -> None:
    run([*FRONT, Approve])
    assert MACHINE.models == []


def test_every_command_has_one_row_and_every_row_a_trigger() -> None:
    assert len({a.command for a in ACTIONS}) == len(ACTIONS) == len(ACTIONS_BY_NAME)
    for action in ACTIONS:
        for source in action.sources:
            assert action.name in MACHINE.get_triggers(source), (action.name, source)


def test_deadline_changes_follow_stage_owners() -> None:
    assert deadline_changes(State.IDENTITY_VERIFIED, State.FORWARDED, False) == (
        DeadlineOp("close", Stage.FORWARD),
        DeadlineOp("open", Stage.ACCEPT),
    )
    assert deadline_changes(State.FORWARDED, State.ACCEPTED, True) == (
        DeadlineOp("close", Stage.ACCEPT),
        DeadlineOp("open", Stage.MAIL),
    )
    # Mailed originals are on the road (watched, nobody's), then the decision starts.
    assert deadline_changes(State.ACCEPTED, State.ORIGINALS_MAILED, True) == (
        DeadlineOp("close", Stage.MAIL),
        DeadlineOp("open", Stage.TRANSIT),
    )
    assert deadline_changes(State.ORIGINALS_MAILED, State.ORIGINALS_RECEIVED, True) == (
        DeadlineOp("close", Stage.TRANSIT),
        DeadlineOp("open", Stage.DECIDE),
    )
    assert stage_of(State.ACCEPTED, False) is Stage.DECIDE


# --- random sequences -------------------------------------------------------------------


@st.composite
def attempts(draw: st.DrawFn) -> list[tuple[CaseCommand, Side]]:
    texts = st.lists(st.sampled_from(["", " ", "材料不全"]), max_size=2).map(tuple)
    steps = []
    for _ in range(draw(st.integers(0, 25))):
        action = draw(st.sampled_from(ACTIONS))
        values: dict[str, Any] = {
            "reasons": draw(texts),
            "notice_items": draw(st.lists(st.sampled_from(["", "户口簿"]), max_size=2).map(tuple)),
            "carrier": draw(st.sampled_from(["", "EMS"])),
            "tracking_no": draw(st.sampled_from(["", "1100"])),
            "method": draw(st.sampled_from(list(DeliveryMethod))),
            "document_number": draw(st.sampled_from([ID, "110101199003070070", "123"])),
            "materials": (),
            "legal_basis": draw(st.sampled_from(["", "《行政许可法》第三十二条"])),
            "department_code": "RS341700",
            "procedure": draw(st.sampled_from(list(SpecialProcedure))),
            "return_carrier": draw(st.sampled_from(["", "EMS"])),
            "return_tracking_no": draw(st.sampled_from(["", "1101"])),
            "expected_days": draw(st.integers(1, 30)),
        }
        names = {f.name for f in dataclasses.fields(action.command)}
        command = action.command(case_no=NO, **{k: v for k, v in values.items() if k in names})
        steps.append((command, draw(st.sampled_from([Side.WINDOW, Side.HOME]))))
    return steps


@settings(max_examples=400, deadline=None)
@given(steps=attempts(), originals=st.booleans())
def test_random_sequences_follow_the_table(
    steps: list[tuple[CaseCommand, Side]], originals: bool
) -> None:
    facts = CaseFacts(State.RECEIVED, originals_required=originals, applicant=APPLICANT)
    for command, side in steps:
        action = next(a for a in ACTIONS if a.command is type(command))
        try:
            outcome = fire(facts, command, side)
        except Refused as err:
            # A move the table allows from here is refused only by one of its guards.
            if facts.state in action.sources:
                assert err.code != "transition.not_allowed"
            continue
        assert facts.state in action.sources
        assert outcome.target is (action.target or facts.state)
        assert facts.state not in FINAL_STATES  # nothing leaves a final state
        if outcome.target in (State.APPROVED, State.REFUSED):
            assert facts.hold is None  # nothing is decided during a hold
        # A hold starts only when none lasts, ends only the one that lasts, and never
        # outlives the case.
        if action.starts_hold:
            assert facts.hold is None and outcome.hold is action.starts_hold
        if action.ends_hold:
            assert facts.hold is action.ends_hold and outcome.hold is None
        if outcome.target in FINAL_STATES:
            assert outcome.hold is None
            # Nothing ends with the applicant's originals still held by the department.
            assert not facts.originals_held or outcome.originals_returned
        if outcome.target in (State.APPROVED, State.REFUSED):
            assert not originals or facts.originals_arrived  # no decision before originals
        if outcome.target is State.ORIGINALS_MAILED:
            assert originals
        if outcome.target is State.DELIVERED:
            assert isinstance(command, Deliver)
            assert (command.method is DeliveryMethod.WINDOW) == (side is Side.WINDOW)
        facts = dataclasses.replace(
            facts,
            state=outcome.target,
            originals_arrived=facts.originals_arrived or outcome.originals_arrive,
            hold=outcome.hold,
            originals_returned=facts.originals_returned or outcome.originals_returned,
        )
