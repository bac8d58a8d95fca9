"""Real concurrency on PostgreSQL: racing updates of one case, racing receipts at one window.

Each thread runs an ordinary service call with its own unit of work. A gate holds every
participating thread at its first locking use of one table until all of them got there:
the test's own transaction holds the table in EXCLUSIVE mode (plain reads pass; SELECT ...
FOR UPDATE, INSERT and UPDATE wait), and commits once every racer waits on it (pg_locks).
Then they all go at once. Nothing of our own is patched: the gate only delays statements.

An action reads its case locked (FOR UPDATE), so racers on one case take turns: each
decides on the case as the one before it left it. A racer that names the version it saw
(as the workbench and the API clients do) and comes second is refused as stale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tongban.models import AuditEvent, Case, Deadline
from tongban.services.audit.chain import verify_chains
from tongban.services.cases.act import act
from tongban.services.cases.receive import receive
from tongban.services.cases.views import CaseView
from tongban.services.core.errors import DomainError, StaleVersion
from tongban.services.core.runtime import Runtime
from tongban.services.users.accounts import create_user
from tongban.workflow.actions import ACTIONS_BY_NAME
from tongban.workflow.commands import (
    Accept,
    CaseCommand,
    Forward,
    PassFormalReview,
    RequestSupplement,
    ReturnToWindow,
    VerifyIdentity,
    Withdraw,
)
from tongban.workflow.stages import UNCHARGED, stage_of
from tongban.workflow.states import State

from ..world import World, build_world, diploma_application, make

pytestmark = pytest.mark.postgres

ROUNDS = 20
RECEIPT_THREADS = 8
RECEIPT_ROUNDS = 3
GATE_TIMEOUT = 20.0

_WAITING = text(
    "SELECT count(*) FROM pg_locks WHERE relation = CAST(:t AS regclass) AND NOT granted"
)


def _wait_for_racers(rt: Runtime, table: str, parties: int, threads: list[threading.Thread]) -> int:
    """How many racers wait on `table`: all of them, or fewer once some ended or time ran out."""
    deadline = time.monotonic() + GATE_TIMEOUT
    with rt.engine.connect() as probe:
        while True:
            waiting = int(probe.scalar(_WAITING, {"t": table}) or 0)
            if waiting >= parties or time.monotonic() > deadline:
                return waiting
            if not any(t.is_alive() for t in threads):
                return waiting
            time.sleep(0.005)


def race(rt: Runtime, table: str, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads through a gate on `table`; each result is a return value or
    exception."""
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as err:
            results[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with rt.engine.connect() as gate:
        gate.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
        for t in threads:
            t.start()
        waiting = _wait_for_racers(rt, table, len(calls), threads)
        gate.commit()  # open the gate (also when a racer never got there: nobody may hang)
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    assert waiting == len(calls), f"the racers never all reached the gate: {results!r}"
    return results


@pytest.fixture
def world(pg_rt: Runtime) -> World:
    w = build_world(pg_rt)
    for username, role, unit in (
        ("clerk.cz2", "clerk", {"office_code": "CZ01"}),
        ("reviewer.gz2", "reviewer", {"department_code": "GZ330106"}),
    ):
        w.actors[username] = create_user(
            pg_rt.uow(),
            username=username,
            display_name=username,
            role=role,
            password="racing-password",
            **unit,
        )
    return w


APP = diploma_application()


def _front(w: World, no: str) -> None:
    w.act(PassFormalReview, "clerk.cz", no)
    w.act(VerifyIdentity, "clerk.cz", no, document_number=APP.applicant_id_number)
    w.act(Forward, "clerk.cz", no)


@dataclass(frozen=True)
class Racer:
    who: str
    action: str
    command: type[CaseCommand]
    kwargs: dict[str, Any]


# (state to prepare, the two racers): different sides, two people of one side, a double click.
PAIRS: list[tuple[str, Racer, Racer]] = [
    (
        "forwarded",
        Racer("reviewer.gz", "accept", Accept, {}),
        Racer("clerk.cz", "withdraw", Withdraw, {"reasons": ["申请人撤回"]}),
    ),
    (
        "received",
        Racer("clerk.cz", "pass_formal_review", PassFormalReview, {}),
        Racer(
            "clerk.cz2",
            "request_supplement",
            RequestSupplement,
            {"notice_items": ["学历证书原件"]},
        ),
    ),
    (
        "forwarded",
        Racer("reviewer.gz", "accept", Accept, {}),
        Racer("reviewer.gz2", "return_to_window", ReturnToWindow, {"reasons": ["扫描件不清晰"]}),
    ),
    (
        "identity_verified",
        Racer("clerk.cz", "forward", Forward, {}),
        Racer("clerk.cz2", "forward", Forward, {}),
    ),
]


def _prepare(w: World, state: str) -> str:
    no = w.receive(APP, "clerk.cz")
    w.scan(no)  # the racers push through the service: the scans are there first
    if state == "identity_verified":
        w.act(PassFormalReview, "clerk.cz", no)
        w.act(VerifyIdentity, "clerk.cz", no, document_number=APP.applicant_id_number)
    elif state == "forwarded":
        _front(w, no)
    return no


@dataclass(frozen=True)
class Row:
    state: str
    version: int
    audit_seq: int
    audit_head: str
    originals_required: bool
    events: list[tuple[int, str, int | None]]  # seq, action, actor id
    open_deadlines: list[str]


def _row(rt: Runtime, no: str) -> Row:
    with rt.uow() as uow:
        s = uow.session
        case = s.scalars(select(Case).where(Case.case_no == no)).one()
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        )
        # The stages somebody is charged with (the applicant's 补正期限 runs beside them).
        deadlines = s.scalars(
            select(Deadline.stage).where(
                Deadline.case_id == case.id,
                Deadline.status != "closed",
                Deadline.stage.not_in(UNCHARGED),
            )
        )
        return Row(
            case.state,
            case.version,
            case.audit_seq,
            case.audit_head,
            case.originals_required,
            [(e.seq, e.action, e.actor_id) for e in events],
            sorted(deadlines),
        )


def _race_round(
    w: World, index: int, *, versioned: bool
) -> tuple[Row, Row, list[Racer], list[Any]]:
    """Prepare a case for round `index`, race its two racers on it (naming the version they
    saw, or not); the case before and after, the racers and their results."""
    state, *racers = PAIRS[index % len(PAIRS)]
    no = _prepare(w, state)
    before = _row(w.rt, no)
    assert before.state == state
    now = w.tick()
    seen = before.version if versioned else None

    def call(r: Racer) -> Callable[[], CaseView]:
        command = make(r.command, no, expected_version=seen, **r.kwargs)
        return lambda: act(w.uow(), command, actor=w.actors[r.who], now=now)

    results = race(w.rt, "cases", [call(r) for r in racers])
    after = _row(w.rt, no)
    expected_stage = stage_of(State(after.state), after.originals_required)
    assert after.open_deadlines == ([expected_stage.value] if expected_stage else [])
    assert verify_chains(w.uow(), no) == []
    return before, after, racers, results


def test_racing_updates_one_wins_the_other_is_stale(world: World) -> None:
    for index in range(ROUNDS):
        before, after, racers, results = _race_round(world, index, versioned=True)

        won = [(r, v) for r, v in zip(racers, results, strict=True) if isinstance(v, CaseView)]
        lost = [v for v in results if not isinstance(v, CaseView)]
        assert len(won) == 1 and len(lost) == 1, f"round {index}: {results!r}"
        assert isinstance(lost[0], StaleVersion), f"round {index}: {lost[0]!r}"
        assert lost[0].code == "case.stale_version"
        winner, view = won[0]

        assert after.state == view.state
        assert after.version == before.version + 1 == view.version
        assert after.audit_seq == before.audit_seq + 1
        assert after.events[:-1] == before.events
        assert after.events[-1] == (
            before.audit_seq + 1,
            winner.action,
            world.actors[winner.who].user_id,
        )
    assert verify_chains(world.uow()) == []


def test_racing_updates_without_a_version_never_write_half(world: World) -> None:
    """Racers that name no version: the first moves the case; each other one either read
    the case after that and follows from there (a legal transition of the table), or is
    refused — for the version that moved under it, or for the state it found — writing
    nothing."""
    for index in range(ROUNDS):
        before, after, racers, results = _race_round(world, index, versioned=False)

        done = {
            (r.action, world.actors[r.who].user_id): v
            for r, v in zip(racers, results, strict=True)
            if isinstance(v, CaseView)
        }
        refused = [v for v in results if not isinstance(v, CaseView)]
        assert done, f"round {index}: {results!r}"
        for err in refused:
            # Refused for the state the first left, or for a version that moved under it:
            # either way it wrote nothing.
            assert isinstance(err, DomainError), f"round {index}: {err!r}"
            assert err.code in ("transition.not_allowed", "case.stale_version"), err

        added = after.events[len(before.events) :]
        assert after.events[: len(before.events)] == before.events
        assert len(added) == len(done), f"round {index}: {added!r} for {results!r}"
        state = State(before.state)
        for offset, (seq, action, actor_id) in enumerate(added, start=1):
            assert seq == before.audit_seq + offset
            view = done[(action, actor_id)]
            row = ACTIONS_BY_NAME[action]
            assert state in row.sources, f"round {index}: {action} from {state}"
            state = row.target
            assert (view.state, view.version) == (state.value, before.version + offset)
        assert after.state == state
        assert after.version == before.version + len(done)
        assert after.audit_seq == before.audit_seq + len(done)
    assert verify_chains(world.uow()) == []


def test_concurrent_receipts_get_distinct_gapless_numbers(world: World) -> None:
    clerks = [world.actors["clerk.cz"], world.actors["clerk.cz2"]]
    now = world.tick()
    numbers: list[str] = []
    for round_no in range(RECEIPT_ROUNDS):
        calls = [
            (
                lambda i=i, round_no=round_no: receive(
                    world.uow(),
                    diploma_application(f"{100 + round_no * 10 + i:03d}"),
                    actor=clerks[i % 2],
                    now=now,
                )
            )
            for i in range(RECEIPT_THREADS)
        ]
        results = race(world.rt, "case_counters", calls)
        assert all(isinstance(r, CaseView) for r in results), results
        numbers += [r.case_no for r in results]
        count = RECEIPT_THREADS * (round_no + 1)
        assert sorted(numbers) == [f"CZ01-20260310-{n:04d}" for n in range(1, count + 1)]
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == len(numbers)
    assert verify_chains(world.uow()) == []
