"""The one lifecycle machine shared by every case, built once from the action table.

`transitions` keeps a list of the models added to a machine, and `add_model` would put the
machine's initial state on a case loaded from the database. So no case is ever added: each
action dispatches through `MACHINE.events[name]` on a short-lived subject carrying the
stored state, and the caller copies the resulting state back inside its own transaction.

Every guard is a `conditions` callable of its transition. A guard that refuses raises
`Refused` with its reason, so a refusal is found once, by the machine, and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from transitions import EventData, Machine

from .actions import ACTIONS, Action, action_of
from .commands import CaseCommand
from .deadlines import DeadlineOp, deadline_changes
from .guards import Attempt, CaseFacts, Guard, Refusal
from .guide import Material, originals_required
from .holds import Hold
from .stages import Stage, stage_of
from .states import DECISION_STATES, FINAL_STATES, STATE_LABELS, Side, State


class Refused(Exception):
    """The workflow refused an action; `code` is stable, the message says why in Chinese."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.code = refusal.code
        self.field = refusal.field


def not_allowed(state: State, action: Action) -> Refused:
    return Refused(
        Refusal(
            "transition.not_allowed",
            f"办件当前为「{STATE_LABELS[state]}」，不能执行「{action.label}」。",
        )
    )


class _Subject:
    """The model the machine moves for one dispatch; never added to the machine."""

    __slots__ = ("attempt", "facts", "state")

    def __init__(self, facts: CaseFacts, attempt: Attempt) -> None:
        self.state = facts.state
        self.facts = facts
        self.attempt = attempt


def _condition(guard: Guard) -> Callable[[EventData], bool]:
    def holds(event: EventData) -> bool:
        subject = cast(_Subject, event.model)
        refusal = guard(subject.facts, subject.attempt)
        if refusal is not None:
            raise Refused(refusal)
        return True

    return holds


def _build() -> Machine:
    machine = Machine(
        model=None,
        states=State,
        initial=State.RECEIVED,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for action in ACTIONS:
        machine.add_transition(
            action.name,
            list(action.sources),
            "=" if action.target is None else action.target,  # "=": stays where it is
            conditions=[_condition(g) for g in (*action.when, *action.checks)],
        )
    return machine


MACHINE = _build()
# What may happen in each state, asked of the machine once.
_TRIGGERS: dict[State, frozenset[str]] = {s: frozenset(MACHINE.get_triggers(s)) for s in State}


@dataclass(frozen=True)
class Outcome:
    """What an action does to a case."""

    action: Action
    source: State
    target: State
    deadlines: tuple[DeadlineOp, ...]
    handed_in: tuple[Material, ...]  # materials the action added
    originals_required: bool  # after the action
    recorded: Mapping[str, Any] = field(default_factory=dict)  # for the audit event
    hold: Hold | None = None  # the hold lasting after the action
    originals_returned: bool = False  # the action sent the held originals back

    @property
    def closes(self) -> bool:
        return self.target in FINAL_STATES

    @property
    def decision(self) -> str | None:
        return self.target.value if self.target in DECISION_STATES else None

    @property
    def originals_arrive(self) -> bool:
        return self.target is State.ORIGINALS_RECEIVED


def _handed_over(state: State, originals_required: bool) -> tuple[DeadlineOp, ...]:
    """The running stage stops for the department handing over and starts for the other."""
    stage = stage_of(state, originals_required)
    if stage is None:
        return ()
    return (DeadlineOp("close", stage), DeadlineOp("open", stage))


def _held(action: Action, state: State, originals_required: bool) -> tuple[DeadlineOp, ...]:
    """A hold pauses the running stage's clock; its end lets it run again."""
    stage = stage_of(state, originals_required)
    if stage is None:
        return ()
    return (DeadlineOp("pause" if action.starts_hold else "resume", stage),)


def _moves(
    action: Action, facts: CaseFacts, target: State, required: bool
) -> tuple[DeadlineOp, ...]:
    source = facts.state
    if action.hands_over:
        ops = _handed_over(source, required)
    elif action.starts_hold or action.ends_hold:
        ops = _held(action, source, required)
    else:
        ops = deadline_changes(source, target, required)
    return ops + _watched(action, facts, target)


def _watched(action: Action, facts: CaseFacts, target: State) -> tuple[DeadlineOp, ...]:
    """The watched periods: the applicant's 补正期限 opens with a request to supplement, a
    特别程序's expected days with its start; each closes when it ends or the case does."""
    running = {
        Stage.SUPPLEMENT: facts.state is State.SUPPLEMENTING or facts.hold is Hold.SUPPLEMENT,
        Stage.SPECIAL: facts.hold is Hold.SPECIAL,
    }
    if action.period is not None and action.period[0] == "open":
        return (DeadlineOp("open", action.period[1]),)
    return tuple(
        DeadlineOp("close", stage)
        for stage, runs in running.items()
        if runs and (action.period == ("close", stage) or target in FINAL_STATES)
    )


def _hold_after(action: Action, facts: CaseFacts, target: State) -> Hold | None:
    if target in FINAL_STATES or action.ends_hold:
        return None  # a case that ends (终止, 撤回) ends its hold with it
    return action.starts_hold or facts.hold


def fire(facts: CaseFacts, command: CaseCommand, side: Side) -> Outcome:
    """Apply `command` to a case in `facts.state` for `side`; raise Refused saying why not."""
    action = action_of(command)
    if action.name not in _TRIGGERS[facts.state]:
        raise not_allowed(facts.state, action)
    subject = _Subject(facts, Attempt(action.label, side, command))
    MACHINE.events[action.name].trigger(subject)
    target = State(subject.state)
    added = action.hands_in(facts, command) if action.hands_in else ()
    required = facts.originals_required
    if added and facts.guide is not None:
        required = originals_required(facts.guide, (*facts.handed_in, *added))
    return Outcome(
        action=action,
        source=facts.state,
        target=target,
        deadlines=_moves(action, facts, target, required),
        handed_in=added,
        originals_required=required,
        recorded=action.records(facts, command) if action.records else {},
        hold=_hold_after(action, facts, target),
        originals_returned=action.returns_originals and facts.originals_held,
    )


@dataclass(frozen=True)
class Option:
    """An action a side may take now (a check on its input may still refuse it)."""

    action: Action
    side: Side
    choices: tuple[str, ...] = ()


def options(facts: CaseFacts, side: Side) -> list[Option]:
    """What `side` may do now, in table order: the machine's triggers from the state, for
    this side, whose conditions on the case hold."""
    if facts.state in FINAL_STATES:
        return []
    triggers = _TRIGGERS[facts.state]
    out = []
    for action in ACTIONS:
        if action.name not in triggers or action.side not in (side, Side.EITHER):
            continue
        attempt = Attempt(action.label, side)
        if any(guard(facts, attempt) is not None for guard in action.when):
            continue
        out.append(Option(action, side, action.choices(side) if action.choices else ()))
    return out
