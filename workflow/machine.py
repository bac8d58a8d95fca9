"""The one lifecycle machine shared by every case.

`transitions` keeps a list of the models added to a machine, and `add_model` would put the
machine's initial state on a case loaded from the database. So no case is ever added: each
action dispatches through `MACHINE.events[...]` on a short-lived subject carrying the stored
state, and the caller copies the resulting state back inside its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from transitions import EventData, Machine

from .guards import ActionInput, CaseFacts, Refusal, first_refusal
from .stages import ClockOp, clock_changes
from .states import ACTION_LABELS, ACTION_SIDE, FINAL_STATES, STATE_LABELS, Action, Side, State

_BEFORE_DECISION = (
    State.RECEIVED,
    State.SUPPLEMENTING,
    State.FORMALLY_REVIEWED,
    State.IDENTITY_VERIFIED,
    State.FORWARDED,
    State.RETURNED,
    State.ACCEPTED,
    State.ORIGINALS_MAILED,
    State.ORIGINALS_RECEIVED,
)

TRANSITIONS: tuple[tuple[Action, tuple[State, ...], State], ...] = (
    (Action.PASS_FORMAL_REVIEW, (State.RECEIVED,), State.FORMALLY_REVIEWED),
    (Action.REQUEST_SUPPLEMENT, (State.RECEIVED, State.RETURNED), State.SUPPLEMENTING),
    (Action.SUPPLEMENT, (State.SUPPLEMENTING,), State.RECEIVED),
    (
        Action.NOT_ACCEPT,
        (State.RECEIVED, State.SUPPLEMENTING, State.RETURNED),
        State.NOT_ACCEPTED,
    ),
    (Action.VERIFY_IDENTITY, (State.FORMALLY_REVIEWED,), State.IDENTITY_VERIFIED),
    (Action.FAIL_IDENTITY, (State.FORMALLY_REVIEWED,), State.IDENTITY_FAILED),
    (Action.FORWARD, (State.IDENTITY_VERIFIED, State.RETURNED), State.FORWARDED),
    (Action.ACCEPT, (State.FORWARDED,), State.ACCEPTED),
    (Action.RETURN, (State.FORWARDED,), State.RETURNED),
    (Action.MAIL_ORIGINALS, (State.ACCEPTED,), State.ORIGINALS_MAILED),
    (Action.RECEIVE_ORIGINALS, (State.ORIGINALS_MAILED,), State.ORIGINALS_RECEIVED),
    (Action.APPROVE, (State.ACCEPTED, State.ORIGINALS_RECEIVED), State.APPROVED),
    (Action.REFUSE, (State.ACCEPTED, State.ORIGINALS_RECEIVED), State.REFUSED),
    (Action.DELIVER, (State.APPROVED, State.REFUSED), State.DELIVERED),
    (Action.COMPLETE, (State.DELIVERED,), State.COMPLETED),
    (Action.WITHDRAW, _BEFORE_DECISION, State.WITHDRAWN),
)


class _Subject:
    """The model the machine moves for one dispatch; never added to the machine."""

    __slots__ = ("facts", "state")

    def __init__(self, facts: CaseFacts) -> None:
        self.state = facts.state
        self.facts = facts


def _guards_pass(event: EventData) -> bool:
    subject = cast(_Subject, event.model)
    inp: ActionInput = event.kwargs["inp"]
    return first_refusal(subject.facts, inp, Action(event.event.name)) is None


def _build() -> Machine:
    machine = Machine(
        model=None,
        states=[s.value for s in State],
        initial=State.RECEIVED.value,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for action, sources, target in TRANSITIONS:
        machine.add_transition(
            action.value,
            [s.value for s in sources],
            target.value,
            conditions=[_guards_pass],
        )
    return machine


MACHINE = _build()


class TransitionNotAllowed(Exception):
    code = "transition.not_allowed"

    def __init__(self, state: State, action: Action) -> None:
        self.state = state
        self.action = action
        super().__init__(
            f"案件当前为「{STATE_LABELS[state]}」，不能执行「{ACTION_LABELS[action]}」。"
        )


class TransitionRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.code = refusal.code
        super().__init__(refusal.message)


@dataclass(frozen=True)
class Outcome:
    source: State
    target: State
    clocks: tuple[ClockOp, ...]


def allowed(state: State, action: Action) -> bool:
    return state.value in MACHINE.events[action.value].transitions


def available_actions(state: State, side: Side) -> list[Action]:
    """Actions the given side could try now (guards may still refuse them)."""
    if state in FINAL_STATES:
        return []
    return [a for a in Action if allowed(state, a) and ACTION_SIDE[a] in (side, Side.EITHER)]


def fire(facts: CaseFacts, action: Action, inp: ActionInput) -> Outcome:
    """Apply `action` to a case in `facts.state`; raise with a reason when it may not happen."""
    source = State(facts.state)
    if not allowed(source, action):
        raise TransitionNotAllowed(source, action)
    refusal = first_refusal(facts, inp, action)
    if refusal is not None:
        raise TransitionRefused(refusal)
    subject = _Subject(facts)
    if not MACHINE.events[action.value].trigger(subject, inp=inp):
        # Unreachable while the machine's conditions are the guards checked above.
        raise TransitionNotAllowed(source, action)
    target = State(subject.state)
    return Outcome(source, target, clock_changes(source, target, facts.originals_required))
