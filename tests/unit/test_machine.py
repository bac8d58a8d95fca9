"""The pure lifecycle machine: legal paths, refusals with reasons, and random action sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongban.workflow.guards import ActionInput, CaseFacts
from tongban.workflow.machine import (
    MACHINE,
    TRANSITIONS,
    TransitionNotAllowed,
    TransitionRefused,
    available_actions,
    fire,
)
from tongban.workflow.stages import ClockOp, Stage, clock_changes, stage_of
from tongban.workflow.states import (
    ACTION_SIDE,
    FINAL_STATES,
    Action,
    DeliveryMethod,
    Side,
    State,
)

WINDOW = ActionInput(side=Side.WINDOW)
HOME = ActionInput(side=Side.HOME)


def good_input(action: Action) -> ActionInput:
    """An input every guard accepts (the side comes from the action's owner)."""
    side = Side.HOME if ACTION_SIDE[action] is Side.HOME else Side.WINDOW
    if action is Action.DELIVER:
        side = Side.HOME
    return ActionInput(
        side=side,
        reasons=("理由",),
        notice_items=("身份证复印件",),
        carrier="EMS",
        tracking_no="1100",
        delivery_method=DeliveryMethod.MAIL,
    )


def run(path: list[Action], originals: bool = False) -> CaseFacts:
    facts = CaseFacts(State.RECEIVED.value, originals_required=originals)
    for action in path:
        outcome = fire(facts, action, good_input(action))
        facts = CaseFacts(
            outcome.target.value,
            originals_required=originals,
            originals_arrived=facts.originals_arrived or action is Action.RECEIVE_ORIGINALS,
        )
    return facts


FRONT = [Action.PASS_FORMAL_REVIEW, Action.VERIFY_IDENTITY, Action.FORWARD, Action.ACCEPT]


def test_happy_path_with_originals() -> None:
    path = [
        *FRONT,
        Action.MAIL_ORIGINALS,
        Action.RECEIVE_ORIGINALS,
        Action.APPROVE,
        Action.DELIVER,
        Action.COMPLETE,
    ]
    assert run(path, originals=True).state == State.COMPLETED


def test_happy_path_without_originals_skips_the_mailing_step() -> None:
    facts = run([*FRONT], originals=False)
    with pytest.raises(TransitionRefused) as err:
        fire(facts, Action.MAIL_ORIGINALS, good_input(Action.MAIL_ORIGINALS))
    assert err.value.code == "originals.not_required"
    assert run([*FRONT, Action.APPROVE, Action.DELIVER, Action.COMPLETE]).state == State.COMPLETED


def test_decision_before_originals_is_refused_with_the_reason() -> None:
    facts = run(FRONT, originals=True)
    with pytest.raises(TransitionRefused) as err:
        fire(facts, Action.APPROVE, HOME)
    assert err.value.code == "decision.originals_missing"
    assert "原件尚未寄达" in str(err.value)


def test_not_allowed_names_state_and_action_in_chinese() -> None:
    with pytest.raises(TransitionNotAllowed) as err:
        fire(CaseFacts(State.RECEIVED.value), Action.ACCEPT, HOME)
    assert str(err.value) == "案件当前为「已收件」，不能执行「受理」。"


@pytest.mark.parametrize(
    "action", [Action.NOT_ACCEPT, Action.RETURN, Action.REFUSE, Action.FAIL_IDENTITY]
)
def test_reasons_are_required(action: Action) -> None:
    source = next(s[0] for a, s, _ in TRANSITIONS if a is action)
    facts = CaseFacts(source.value)
    with pytest.raises(TransitionRefused) as err:
        fire(facts, action, ActionInput(side=Side.HOME, reasons=("  ",)))
    assert err.value.code == "transition.reason_required"


def test_supplement_requires_a_one_time_notice_and_pauses_the_clock() -> None:
    with pytest.raises(TransitionRefused) as err:
        fire(CaseFacts("received"), Action.REQUEST_SUPPLEMENT, WINDOW)
    assert err.value.code == "supplement.notice_empty"
    out = fire(
        CaseFacts("received"),
        Action.REQUEST_SUPPLEMENT,
        ActionInput(side=Side.WINDOW, notice_items=("学历证书原件",)),
    )
    assert out.clocks == (ClockOp("pause", Stage.FORWARD),)
    back = fire(CaseFacts("supplementing"), Action.SUPPLEMENT, WINDOW)
    assert back.clocks == (ClockOp("resume", Stage.FORWARD),)


def test_delivery_method_must_match_the_side() -> None:
    facts = CaseFacts(State.APPROVED.value)
    window_pickup = ActionInput(side=Side.HOME, delivery_method=DeliveryMethod.WINDOW)
    with pytest.raises(TransitionRefused) as err:
        fire(facts, Action.DELIVER, window_pickup)
    assert err.value.code == "delivery.wrong_side"
    ok = fire(
        facts, Action.DELIVER, ActionInput(side=Side.WINDOW, delivery_method=DeliveryMethod.WINDOW)
    )
    assert ok.target is State.DELIVERED


def test_withdraw_is_allowed_before_the_decision_only() -> None:
    for state in State:
        expected = state not in FINAL_STATES and state not in {
            State.APPROVED,
            State.REFUSED,
            State.DELIVERED,
        }
        assert (Action.WITHDRAW in available_actions(state, Side.WINDOW)) == expected, state


def test_the_machine_is_shared_and_keeps_no_models() -> None:
    run([*FRONT, Action.APPROVE])
    assert MACHINE.models == []


def test_clock_changes_follow_stage_owners() -> None:
    assert clock_changes(State.IDENTITY_VERIFIED, State.FORWARDED, False) == (
        ClockOp("close", Stage.FORWARD),
        ClockOp("open", Stage.ACCEPT),
    )
    assert clock_changes(State.FORWARDED, State.ACCEPTED, True) == (
        ClockOp("close", Stage.ACCEPT),
        ClockOp("open", Stage.MAIL),
    )
    assert clock_changes(State.ACCEPTED, State.ORIGINALS_MAILED, True) == (
        ClockOp("close", Stage.MAIL),
    )
    assert clock_changes(State.ORIGINALS_MAILED, State.ORIGINALS_RECEIVED, True) == (
        ClockOp("open", Stage.DECIDE),
    )
    assert stage_of(State.ACCEPTED, False) is Stage.DECIDE


# --- random sequences -------------------------------------------------------------------

REACHABLE_TARGETS = {target for _, _, target in TRANSITIONS}


@st.composite
def attempts(draw: st.DrawFn) -> list[tuple[Action, ActionInput]]:
    steps = []
    for _ in range(draw(st.integers(0, 25))):
        action = draw(st.sampled_from(list(Action)))
        inp = ActionInput(
            side=draw(st.sampled_from([Side.WINDOW, Side.HOME])),
            reasons=tuple(draw(st.lists(st.sampled_from(["", " ", "材料不全"]), max_size=2))),
            notice_items=tuple(draw(st.lists(st.sampled_from(["", "户口簿"]), max_size=2))),
            carrier=draw(st.sampled_from([None, "", "EMS"])),
            tracking_no=draw(st.sampled_from([None, "", "1100"])),
            delivery_method=draw(st.sampled_from([None, *DeliveryMethod])),
        )
        steps.append((action, inp))
    return steps


@settings(max_examples=400, deadline=None)
@given(steps=attempts(), originals=st.booleans())
def test_random_sequences_never_reach_an_illegal_state(
    steps: list[tuple[Action, ActionInput]], originals: bool
) -> None:
    facts = CaseFacts(State.RECEIVED.value, originals_required=originals)
    decided_before_originals = False
    for action, inp in steps:
        before = facts
        try:
            outcome = fire(facts, action, inp)
        except (TransitionNotAllowed, TransitionRefused):
            assert facts == before  # a refusal changes nothing
            continue
        assert outcome.source.value == before.state
        assert outcome.target in REACHABLE_TARGETS
        assert State(before.state) not in FINAL_STATES  # nothing leaves a final state
        if outcome.target in (State.APPROVED, State.REFUSED):
            decided_before_originals |= originals and not facts.originals_arrived
        if outcome.target is State.ORIGINALS_MAILED:
            assert originals
        facts = CaseFacts(
            outcome.target.value,
            originals_required=originals,
            originals_arrived=facts.originals_arrived or action is Action.RECEIVE_ORIGINALS,
        )
    assert not decided_before_originals
