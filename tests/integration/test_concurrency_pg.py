"""Real concurrency on PostgreSQL: racing updates of one case, racing receipts at one window.

Each thread runs an ordinary service call with its own unit of work. A gate on the engine
holds every participating thread at its first write statement until all of them got
there: every racer has read the case (the same version) and nobody has written yet. Then
they all write at once. Nothing of our own is patched: the gate only delays statements.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from tongban.models import AuditEvent, Case, Deadline
from tongban.services import cases as c
from tongban.services.audit import verify_chains
from tongban.services.errors import StaleVersion
from tongban.services.runtime import Runtime
from tongban.services.users import create_user
from tongban.workflow.stages import stage_of
from tongban.workflow.states import State

from ..world import World, build_world, diploma_application

pytestmark = pytest.mark.postgres

ROUNDS = 20
RECEIPT_THREADS = 8
RECEIPT_ROUNDS = 3
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


class WriteGate:
    """Hold each racing thread at its first INSERT/UPDATE/DELETE until all racers are there."""

    def __init__(self, engine: Engine, parties: int, timeout: float = 20) -> None:
        self.engine = engine
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self._local = threading.local()

    def enter_race(self) -> None:
        self._local.held = True

    def _before_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if getattr(self._local, "held", False) and _WRITE.match(statement):
            self._local.held = False
            self.barrier.wait()

    def __enter__(self) -> WriteGate:
        event.listen(self.engine, "before_cursor_execute", self._before_execute)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before_execute)


def race(rt: Runtime, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads through one gate; each result is a return value or exception."""
    results: list[Any] = [None] * len(calls)
    with WriteGate(rt.engine, len(calls)) as gate:

        def run(index: int) -> None:
            gate.enter_race()
            try:
                results[index] = calls[index]()
            except BaseException as err:
                results[index] = err
                gate.barrier.abort()  # a racer that never writes must not hang the others

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a racer hung"
    for r in results:
        if isinstance(r, threading.BrokenBarrierError):
            raise AssertionError(f"the racers never all reached their first write: {results!r}")
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
    clerk = w.actors["clerk.cz"]
    c.pass_formal_review(w.uow(), w.rt.key, actor=clerk, case_no=no, now=w.tick())
    c.verify_identity(
        w.uow(),
        w.rt.key,
        actor=clerk,
        case_no=no,
        now=w.tick(),
        document_number=APP.applicant_id_number,
    )
    c.forward(w.uow(), w.rt.key, actor=clerk, case_no=no, now=w.tick())


@dataclass(frozen=True)
class Racer:
    who: str
    action: str
    fn: Callable[..., c.CaseView]
    kwargs: dict[str, Any]


# (state to prepare, the two racers): different sides, two people of one side, a double click.
PAIRS: list[tuple[str, Racer, Racer]] = [
    (
        "forwarded",
        Racer("reviewer.gz", "accept", c.accept, {}),
        Racer("clerk.cz", "withdraw", c.withdraw, {"reasons": ["申请人撤回"]}),
    ),
    (
        "received",
        Racer("clerk.cz", "pass_formal_review", c.pass_formal_review, {}),
        Racer(
            "clerk.cz2",
            "request_supplement",
            c.request_supplement,
            {"notice_items": ["学历证书原件"]},
        ),
    ),
    (
        "forwarded",
        Racer("reviewer.gz", "accept", c.accept, {}),
        Racer(
            "reviewer.gz2", "return_to_window", c.return_to_window, {"reasons": ["扫描件不清晰"]}
        ),
    ),
    (
        "identity_verified",
        Racer("clerk.cz", "forward", c.forward, {}),
        Racer("clerk.cz2", "forward", c.forward, {}),
    ),
]


def _prepare(w: World, state: str) -> str:
    no = c.register_case(
        w.uow(), w.rt.key, actor=w.actors["clerk.cz"], application=APP, now=w.tick()
    ).case_no
    if state == "identity_verified":
        clerk = w.actors["clerk.cz"]
        c.pass_formal_review(w.uow(), w.rt.key, actor=clerk, case_no=no, now=w.tick())
        c.verify_identity(
            w.uow(),
            w.rt.key,
            actor=clerk,
            case_no=no,
            now=w.tick(),
            document_number=APP.applicant_id_number,
        )
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
    open_clocks: list[str]


def _row(rt: Runtime, no: str) -> Row:
    with rt.uow() as uow:
        s = uow.session
        case = s.scalars(select(Case).where(Case.case_no == no)).one()
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        )
        clocks = s.scalars(
            select(Deadline.stage).where(Deadline.case_id == case.id, Deadline.status != "closed")
        )
        return Row(
            case.state,
            case.version,
            case.audit_seq,
            case.audit_head,
            case.originals_required,
            [(e.seq, e.action, e.actor_id) for e in events],
            sorted(clocks),
        )


def test_racing_updates_one_wins_the_other_is_stale(world: World) -> None:
    for index in range(ROUNDS):
        state, *racers = PAIRS[index % len(PAIRS)]
        no = _prepare(world, state)
        before = _row(world.rt, no)
        assert before.state == state
        now = world.tick()

        def call(r: Racer, no: str = no, now: datetime = now) -> Callable[[], c.CaseView]:
            return lambda: r.fn(
                world.uow(),
                world.rt.key,
                actor=world.actors[r.who],
                case_no=no,
                now=now,
                **r.kwargs,
            )

        results = race(world.rt, [call(r) for r in racers])

        won = [(r, v) for r, v in zip(racers, results, strict=True) if isinstance(v, c.CaseView)]
        lost = [v for v in results if not isinstance(v, c.CaseView)]
        assert len(won) == 1 and len(lost) == 1, f"round {index}: {results!r}"
        assert isinstance(lost[0], StaleVersion), f"round {index}: {lost[0]!r}"
        assert lost[0].code == "case.stale_version"
        winner, view = won[0]

        after = _row(world.rt, no)
        assert after.state == view.state
        assert after.version == before.version + 1 == view.version
        assert after.audit_seq == before.audit_seq + 1
        assert after.events[:-1] == before.events
        assert after.events[-1] == (
            before.audit_seq + 1,
            winner.action,
            world.actors[winner.who].user_id,
        )
        expected_stage = stage_of(State(after.state), after.originals_required)
        assert after.open_clocks == ([expected_stage.value] if expected_stage else [])
        with world.uow() as uow:
            assert verify_chains(uow.session, world.rt.key, no) == []
    with world.uow() as uow:
        assert verify_chains(uow.session, world.rt.key) == []


def test_concurrent_receipts_get_distinct_gapless_numbers(world: World) -> None:
    clerks = [world.actors["clerk.cz"], world.actors["clerk.cz2"]]
    now = world.tick()
    numbers: list[str] = []
    for round_no in range(RECEIPT_ROUNDS):
        calls = [
            (
                lambda i=i, round_no=round_no: c.register_case(
                    world.uow(),
                    world.rt.key,
                    actor=clerks[i % 2],
                    application=diploma_application(f"{100 + round_no * 10 + i:03d}"),
                    now=now,
                )
            )
            for i in range(RECEIPT_THREADS)
        ]
        results = race(world.rt, calls)
        assert all(isinstance(r, c.CaseView) for r in results), results
        numbers += [r.case_no for r in results]
        count = RECEIPT_THREADS * (round_no + 1)
        assert sorted(numbers) == [f"CZ01-20260310-{n:04d}" for n in range(1, count + 1)]
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case)) == len(numbers)
        assert verify_chains(uow.session, world.rt.key) == []
