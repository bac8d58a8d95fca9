"""The demo `tongban serve --demo` loads: every case in the state its steps lead to, the
chains verify, and a restart on the same database adds nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from tongban.models import Case
from tongban.services.audit.chain import verify_chains
from tongban.services.core.runtime import Runtime
from tongban.services.demo import load_demo
from tongban.workflow.holds import Hold


def test_the_demo_loads_every_case_and_loads_once(rt: Runtime) -> None:
    now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    made = load_demo(rt.uow(), now=now)
    assert len(made) == len(set(made)) == 14
    with rt.uow() as uow:
        cases = uow.session.scalars(select(Case)).all()
        states = Counter(c.state.value for c in cases)
        holds = [c.hold for c in cases if c.hold is not None]
        returned = [c.case_no for c in cases if c.originals_returned_at is not None]
    # A case of each kind a clerk or reviewer meets, including the waits nobody is charged
    # with: a result at the window, a special procedure under way.
    for state in ("received", "supplementing", "forwarded", "accepted", "completed",
                  "at_window", "withdrawn", "declined", "not_accepted", "returned"):  # fmt: skip
        assert states[state] >= 1, (state, states)
    assert holds == [Hold.SPECIAL]
    assert len(returned) == 1  # the completed diploma case sent its originals back
    assert verify_chains(rt.uow()) == []
    assert load_demo(rt.uow(), now=now) == made
