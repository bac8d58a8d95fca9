"""Hypothesis state machine: random people take random actions with plausible arguments.

Per example a fresh case (and the next one once it has ended); per step somebody (mostly
the case's own clerk or reviewer trying what the workflow offers, otherwise anybody
trying anything) acts. A refused action (any DomainError) must leave the case row,
materials, audit events and deadlines exactly as they were; a successful one must be a
transition the workflow machine allows from the previous state, adding exactly one audit
event. The invariants tie the state to its deadlines, closing time, decision and originals,
and the audit chains verify after every example.

One database per test function (SQLite in full, PostgreSQL in a shorter run).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from tongban.models import Case
from tongban.services.audit.chain import verify_chains
from tongban.services.cases.views import CaseView
from tongban.services.core.errors import DomainError
from tongban.services.core.runtime import Runtime
from tongban.workflow.actions import ACTIONS, ACTIONS_BY_NAME
from tongban.workflow.commands import Application, MaterialIn
from tongban.workflow.guards import CaseFacts
from tongban.workflow.holds import SpecialProcedure
from tongban.workflow.machine import options
from tongban.workflow.stages import Stage, stage_of
from tongban.workflow.states import FINAL_STATES, Side, State

from ..world import (
    CaseSnapshot,
    add_supervisor,
    build_world,
    card_application,
    diploma_application,
    snapshot,
)

# (action name, source state) -> target state, from the action table.
TARGET: dict[tuple[str, State], State] = {
    (action.name, source): action.target or source  # no target: the case stays (a hold)
    for action in ACTIONS
    for source in action.sources
}

# --- plausible arguments -------------------------------------------------------------------

REASONS = st.sampled_from([(), ("",), (" ",), ("材料与申请事项不符",), ("理由一", "理由二")])
MATERIAL_CODES = ["id_card", "diploma", "application_form", "chsi_report", "photo", "passport"]
TRACKING = st.sampled_from([("", ""), ("中国邮政EMS", ""), ("", "1100"), ("顺丰速运", "SF1001")])


def _tracking(**extra: Any) -> st.SearchStrategy[dict[str, Any]]:
    return TRACKING.map(lambda t: {"carrier": t[0], "tracking_no": t[1], **extra})


ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "pass_formal_review": st.just({}),
    "request_supplement": st.sampled_from([(), (" ",), ("学历证书原件",), ("照片", "申请表")]).map(
        lambda items: {"notice_items": list(items)}
    ),
    "supplement": st.lists(st.sampled_from(MATERIAL_CODES), max_size=3).map(
        lambda codes: {"materials": [MaterialIn(code) for code in codes]}
    ),
    "decline": REASONS.map(lambda r: {"reasons": list(r)}),
    "not_accept": st.tuples(REASONS, st.sampled_from(["", " ", "《行政许可法》第三十二条"])).map(
        lambda rb: {"reasons": list(rb[0]), "legal_basis": rb[1]}
    ),
    # "own": the number registered at receipt; "other": a valid number of somebody else;
    # "garbled": a wrong check character.
    "verify_identity": st.sampled_from(["own", "own", "other", "garbled"]).map(
        lambda d: {"document_number": d}
    ),
    "fail_identity": REASONS.map(lambda r: {"reasons": list(r)}),
    "forward": st.just({}),
    "accept": st.just({}),
    # To the other demo department with a reviewer, to its own, or to none that exists.
    "transfer": st.tuples(REASONS, st.sampled_from(["GZ330106", "RS320102", "NOPE"])).map(
        lambda rd: {"reasons": list(rd[0]), "department_code": rd[1]}
    ),
    "return_to_window": REASONS.map(lambda r: {"reasons": list(r)}),
    "mail_originals": _tracking(),
    "receive_originals": st.just({}),
    "approve": st.sampled_from([(), ("符合条件",)]).map(lambda r: {"reasons": list(r)}),
    "refuse": REASONS.map(lambda r: {"reasons": list(r)}),
    # Only methods that exist: a command cannot carry another (the API refuses it first).
    "deliver": st.sampled_from(["mail", "electronic", "window"]).flatmap(
        lambda method: _tracking(method=method)
    ),
    "complete": st.just({}),
    "withdraw": REASONS.map(lambda r: {"reasons": list(r)}),
    "request_home_supplement": st.sampled_from([(), (" ",), ("近期免冠照片",)]).map(
        lambda items: {"notice_items": list(items)}
    ),
    "receive_home_supplement": st.just({}),
    "suspend": st.tuples(REASONS, st.sampled_from(["", "《行政许可法》第四十五条"])).map(
        lambda rb: {"reasons": list(rb[0]), "legal_basis": rb[1]}
    ),
    "resume": st.just({}),
    "start_special_procedure": st.tuples(
        REASONS, st.sampled_from(list(SpecialProcedure)), st.integers(1, 30)
    ).map(lambda r: {"reasons": list(r[0]), "procedure": r[1], "expected_days": r[2]}),
    "end_special_procedure": st.just({}),
    "deem_withdrawn": st.just({}),
    "return_originals": _tracking(),
    "send_to_window": st.just({}),
    "terminate": st.tuples(REASONS, st.sampled_from(["", "《行政许可法》第七十条"])).map(
        lambda rb: {
            "reasons": list(rb[0]),
            "legal_basis": rb[1],
            "return_carrier": "中国邮政EMS",
            "return_tracking_no": "1100000000007",
        }
    ),
}
APPLICATIONS: dict[str, tuple[str, Application]] = {
    "diploma": ("clerk.cz", diploma_application("321")),
    "diploma_incomplete": (
        "clerk.cz",
        dataclasses.replace(diploma_application("322"), materials=(MaterialIn("id_card"),)),
    ),
    "diploma_e_licence": (
        "clerk.cz",
        dataclasses.replace(
            diploma_application("323"),
            materials=(
                MaterialIn("id_card", e_licence_verified=True, licence_no="DZZZ-3417-0323"),
                MaterialIn("diploma"),
                MaterialIn("application_form"),
            ),
        ),
    ),
    "card": ("clerk.gc", card_application("654")),
}
FULL_MATERIALS = {
    app.item_code: app.materials for app in (diploma_application(), card_application())
}
RETURNED = {"return_carrier": "中国邮政EMS", "return_tracking_no": "1100000000008"}
HOME_REVIEWER = {"GZ330106": "reviewer.gz", "RS320102": "reviewer.rs"}
OTHER_PERSON = card_application("999").applicant_id_number


def _garble(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def run(rt: Runtime, *, examples: int, steps: int) -> Counter[str]:
    w = build_world(rt)
    w.actors["supervisor.bj"] = add_supervisor(rt, "supervisor.bj", "110000")
    people = sorted(w.actors)
    outcomes: Counter[str] = Counter()

    class CaseLife(RuleBasedStateMachine):
        case_no: str
        clerk: str
        reviewer: str
        applicant_id: str
        full_materials: tuple[MaterialIn, ...]

        def __init__(self) -> None:
            super().__init__()
            self.cases: list[str] = []

        @initialize(kind=st.sampled_from(sorted(APPLICATIONS)))
        def receive(self, kind: str) -> None:
            self.register(kind)

        @precondition(lambda self: State(self.state()) in FINAL_STATES)
        @rule(kind=st.sampled_from(sorted(APPLICATIONS)))
        def next_case(self, kind: str) -> None:
            """A case that ended teaches little more: the window receives the next one."""
            self.register(kind)

        def register(self, kind: str) -> None:
            clerk, app = APPLICATIONS[kind]
            case_no = w.receive(app, clerk)
            w.scan(case_no, clerk)  # the scans go with a forward; each action adds one event
            self.case_no, self.clerk = case_no, clerk
            self.cases.append(case_no)
            self.reviewer = HOME_REVIEWER[app.department_code]
            self.full_materials = FULL_MATERIALS[app.item_code]
            self.applicant_id = app.applicant_id_number

        # -- rules --------------------------------------------------------------------

        @rule(data=st.data())
        def somebody_tries_something(self, data: st.DataObject) -> None:
            """Mostly the case's own people trying what the machine offers their side now,
            endings less often than steps forward (so cases get far); otherwise anybody
            trying anything."""
            facts = self.facts()
            offered = [
                (option.side, option.action.name)
                for side in (Side.WINDOW, Side.HOME)
                for option in options(facts, side)
                for _ in range(1 if option.action.target in FINAL_STATES else 30)
            ]
            guided = data.draw(st.sampled_from([True, True, True, False]), label="guided")
            if guided and offered:
                side, name = data.draw(st.sampled_from(offered), label="action")
                who = self.clerk if side is Side.WINDOW else self.reviewer
                if data.draw(st.sampled_from([True, True, True, False]), label="sound args"):
                    self.attempt(who, name, data, self.sound_arguments(name, side))
                    return
            else:
                who = data.draw(st.sampled_from(people), label="who")
                name = data.draw(st.sampled_from(sorted(ARGS)), label="action")
            self.attempt(who, name, data)

        def sound_arguments(self, name: str, side: Side) -> dict[str, Any]:
            """Arguments a careful person would give (the random ones are often wrong)."""
            sound: dict[str, dict[str, Any]] = {
                "request_supplement": {"notice_items": ["学历证书原件", "申请表"]},
                "supplement": {"materials": list(self.full_materials)},
                "verify_identity": {"document_number": self.applicant_id},
                "not_accept": {"reasons": ["理由"], "legal_basis": "《行政许可法》第三十二条"},
                "transfer": {
                    "reasons": ["非本部门管辖"],
                    "department_code": next(
                        code for code, who in HOME_REVIEWER.items() if who != self.reviewer
                    ),
                },
                "mail_originals": {"carrier": "中国邮政EMS", "tracking_no": "1100000000001"},
                "request_home_supplement": {"notice_items": ["近期免冠照片"]},
                "suspend": {"reasons": ["等待鉴定结论"], "legal_basis": "《行政许可法》第四十五条"},
                "start_special_procedure": {
                    "reasons": ["须专家评审"],
                    "procedure": SpecialProcedure.EXPERT_REVIEW,
                    "expected_days": 5,
                },
                "terminate": {
                    "reasons": ["申请人死亡"],
                    "legal_basis": "《行政许可法》第七十条",
                    **RETURNED,
                },
                "withdraw": {"reasons": ["申请人撤回"], **RETURNED},
                "return_originals": {"carrier": "中国邮政EMS", "tracking_no": "1100000000003"},
                "deliver": {"method": "window"}
                if side is Side.WINDOW
                else {"method": "mail", "carrier": "中国邮政EMS", "tracking_no": "1100000000002"},
            }
            reasoned = {"decline", "fail_identity", "return_to_window", "refuse", "withdraw"}
            return sound.get(name, {"reasons": ["理由"]} if name in reasoned else {})

        # -- one attempt, and what it may have written -----------------------------------

        def state(self) -> str:
            with rt.uow() as uow:
                return uow.session.scalars(
                    select(Case.state).where(Case.case_no == self.case_no)
                ).one()

        def facts(self) -> CaseFacts:
            """What the workflow knows of the case when it says what each side may do."""
            snap = snapshot(rt, self.case_no)
            return CaseFacts(
                state=State(snap.field("state")),
                originals_required=snap.field("originals_required"),
                originals_arrived=snap.field("originals_received_at") is not None,
                hold=snap.field("hold"),
            )

        def attempt(
            self, who: str, name: str, data: st.DataObject, given: dict[str, Any] | None = None
        ) -> None:
            kwargs = dict(data.draw(ARGS[name], label="arguments") if given is None else given)
            if name == "verify_identity" and given is None:
                kwargs["document_number"] = {
                    "own": self.applicant_id,
                    "other": OTHER_PERSON,
                    "garbled": _garble(self.applicant_id),
                }[kwargs["document_number"]]
            before = snapshot(rt, self.case_no)
            version = data.draw(
                st.sampled_from([None, None, None, None, "current", "stale"]), label="version"
            )
            if version is not None:
                current = before.field("version")
                kwargs["expected_version"] = current if version == "current" else current - 1
            command = ACTIONS_BY_NAME[name].command
            try:
                view = w.act(command, who, self.case_no, **kwargs)
            except DomainError as err:
                outcomes[err.code] += 1
                assert snapshot(rt, self.case_no) == before, f"{name} by {who}: {err.code} wrote"
                return
            outcomes["ok"] += 1
            outcomes[view.state] += 1
            if name == "transfer":  # the case is the other department's now
                self.reviewer = HOME_REVIEWER[kwargs["department_code"]]
            self.check_success(name, who, before, view)

        def check_success(self, name: str, who: str, before: CaseSnapshot, view: CaseView) -> None:
            after = snapshot(rt, self.case_no)
            source = State(before.field("state"))
            assert (name, source) in TARGET, f"{name} succeeded from {source}"
            target = TARGET[(name, source)]
            assert after.field("state") == view.state == target
            assert after.field("version") == before.field("version") + 1
            assert after.field("audit_seq") == before.field("audit_seq") + 1
            assert after.events[:-1] == before.events
            event = dict(after.events[-1])
            assert (event["action"], event["from_state"], event["to_state"]) == (
                name,
                source.value,
                target.value,
            )
            assert event["actor_id"] == w.actors[who].user_id
            # A closed deadline is history: no later action rewrites it.
            closed_before = [d for d in before.deadlines if dict(d)["status"] == "closed"]
            assert all(d in after.deadlines for d in closed_before)

        # -- invariants ------------------------------------------------------------------

        @invariant()
        def the_case_is_consistent(self) -> None:
            if not hasattr(self, "case_no"):
                return
            snap = snapshot(rt, self.case_no)
            state = State(snap.field("state"))
            running = sorted(
                (dict(d)["stage"], dict(d)["status"])
                for d in snap.deadlines
                if dict(d)["status"] != "closed"
            )
            stage = stage_of(state, snap.field("originals_required"))
            held = snap.field("hold") is not None
            status = "paused" if state is State.SUPPLEMENTING or held else "running"
            # A hold lasts only while the department decides, and ends with the case.
            assert not held or (stage is Stage.DECIDE and state not in FINAL_STATES)
            expected = [(stage.value, status)] if stage else []
            # While the applicant is asked to supplement, their 补正期限 runs beside it.
            if state is State.SUPPLEMENTING or snap.field("hold") == "supplement":
                expected = sorted([*expected, ("supplement", "running")])
            # A 特别程序 runs its own clock for its expected days.
            if snap.field("hold") == "special":
                expected = sorted([*expected, ("special", "running")])
            assert running == expected, (state, running)
            assert (snap.field("closed_at") is not None) == (state in FINAL_STATES)
            decided = {
                State.APPROVED, State.REFUSED, State.AT_WINDOW, State.DELIVERED, State.COMPLETED
            }  # fmt: skip
            if state in (State.APPROVED, State.REFUSED):
                assert snap.field("decision") == state.value
            elif state in decided:
                assert snap.field("decision") in ("approved", "refused")
            else:
                assert snap.field("decision") is None
            if state in decided and snap.field("originals_required"):
                assert snap.field("originals_received_at") is not None
            # Nothing ends with the originals still at the department.
            if state in FINAL_STATES and snap.field("originals_received_at") is not None:
                assert snap.field("originals_returned_at") is not None
            assert snap.field("audit_seq") == len(snap.events)

        def teardown(self) -> None:
            for case_no in self.cases:
                assert verify_chains(rt.uow(), case_no) == []

    run_state_machine_as_test(
        CaseLife,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            # No shrinking: a replay of long step lists through a database takes minutes
            # (Hypothesis gives up after five); the failing steps print as they are, and
            # every assertion names the action, the person and the refusal code.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
    assert verify_chains(rt.uow()) == []
    return outcomes


def test_every_action_of_the_table_is_tried() -> None:
    assert set(ARGS) == set(ACTIONS_BY_NAME)


def test_random_actions_sqlite(sqlite_rt: Runtime) -> None:
    outcomes = run(sqlite_rt, examples=60, steps=25)
    # The run explored: cases got past the window, and refusals of several kinds happened.
    assert outcomes["forwarded"] > 0 and outcomes["scope.denied"] > 0, outcomes
    assert outcomes["case.stale_version"] > 0 and outcomes["transition.not_allowed"] > 0


@pytest.mark.postgres
def test_random_actions_postgres(pg_rt: Runtime) -> None:
    outcomes = run(pg_rt, examples=12, steps=20)
    assert outcomes["ok"] > 0 and outcomes["scope.denied"] > 0
