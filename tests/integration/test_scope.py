"""Scope matrix: every role, inside and outside its unit, against every action and reading.

The case under test is a diploma case received at CZ01 (池州市, 341700) and sent to
GZ330106 (杭州市西湖公证处, 330106). Allowed actors must succeed; everyone else is refused
and nothing is written (case row, materials, audit events and clocks as before). Who
cannot see the case at all (another unit; the home department before the forward) gets
`case.not_found`, as for a case number that does not exist; who sees it but may not take
the action (the other side; supervisors and the admin) gets `scope.denied`.

One database per backend for the whole module (building the demo organisation hashes ten
passwords); every test works on a fresh case of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tongban.models import AuditEvent, Case, CaseCounter
from tongban.services.cases.receive import receive
from tongban.services.cases.views import CaseView
from tongban.services.core.errors import CaseNotFound, DomainError, ScopeDenied, TransitionError
from tongban.services.departments.registry import declare_items
from tongban.services.users.scope import check_can_read
from tongban.workflow.actions import ACTIONS, ACTIONS_BY_NAME
from tongban.workflow.commands import (
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
    MaterialIn,
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
from tongban.workflow.states import Side

from ..world import (
    World,
    add_supervisor,
    build_world,
    card_application,
    diploma_application,
    fresh_runtime,
    snapshot,
)

# --- who --------------------------------------------------------------------------------

# role key -> demo username. "other" units are chosen as traps: GC01 is in the same city as
# CZ01, RS341700 is a department in the receiving city, supervisor.ah covers CZ01 through
# the province, supervisor.zj covers the case only through its home department.
ROLES: dict[str, str] = {
    "clerk_own_office": "clerk.cz",
    "clerk_other_office": "clerk.gc",
    "reviewer_own_dept": "reviewer.gz",
    "reviewer_other_dept": "reviewer.cz",
    "supervisor_in_region": "supervisor.cz",
    "supervisor_out_of_region": "supervisor.bj",
    "admin": "admin",
}
READERS: dict[str, str] = {
    **ROLES,
    "supervisor_in_province": "supervisor.ah",
    "supervisor_in_home_region": "supervisor.zj",
    "clerk_far_office": "clerk.hz",
    "reviewer_far_dept": "reviewer.yb",
}
CAN_READ = {
    "clerk_own_office",
    "reviewer_own_dept",
    "supervisor_in_region",
    "supervisor_in_province",
    "supervisor_in_home_region",
    "admin",
}

WINDOW = frozenset({"clerk_own_office"})
HOME = frozenset({"reviewer_own_dept"})
EITHER = WINDOW | HOME
# Who may take an action of each side of the action table.
ALLOWED_FOR_SIDE = {Side.WINDOW: WINDOW, Side.HOME: HOME, Side.EITHER: EITHER}


# --- what -------------------------------------------------------------------------------

Kwargs = dict[str, Any]


def _delivery(role: str) -> Kwargs:
    # The method each side may use, so that only scope can refuse the action.
    if role.startswith("clerk"):
        return {"method": "window"}
    return {"method": "mail", "carrier": "中国邮政EMS", "tracking_no": "1100000000009"}


@dataclass(frozen=True)
class Row:
    """One action of the matrix: how to reach a state where it is possible, and who may."""

    command: type[CaseCommand]
    path: tuple[str, ...]  # names of ROWS to take first, by their rightful actor
    allowed: frozenset[str]
    target: str
    kwargs: Callable[[str], Kwargs] = field(default=lambda _role: {})
    # Roles in scope whom the workflow refuses here (a result the window does not have yet).
    workflow_refuses: frozenset[str] = frozenset()


APP = diploma_application()
# The way to a case whose department decides (its originals arrived).
DECIDING = (
    "pass_formal_review",
    "verify_identity",
    "forward",
    "accept",
    "mail_originals",
    "receive_originals",
)
SUSPENSION = {"reasons": ["等待鉴定结论"], "legal_basis": "《行政许可法》第四十五条"}
# Actions that need time to pass first (the applicant's 补正期限 running out): their scope
# is tested in test_holds.
TIME_BOUND = frozenset({DeemWithdrawn})

ROWS: dict[str, Row] = {
    "pass_formal_review": Row(PassFormalReview, (), WINDOW, "formally_reviewed"),
    "request_supplement": Row(
        RequestSupplement,
        (),
        WINDOW,
        "supplementing",
        lambda _r: {"notice_items": ["学历证书原件"]},
    ),
    "supplement": Row(
        Supplement,
        ("request_supplement",),
        WINDOW,
        "received",
        lambda _r: {"materials": [MaterialIn("chsi_report")]},
    ),
    "decline": Row(Decline, (), WINDOW, "declined", lambda _r: {"reasons": ["申请人不愿补正"]}),
    "not_accept": Row(
        NotAccept,
        ("pass_formal_review", "verify_identity", "forward"),
        HOME,
        "not_accepted",
        lambda _r: {"reasons": ["不属于本部门职权范围"], "legal_basis": "《行政许可法》第三十二条"},
    ),
    "verify_identity": Row(
        VerifyIdentity,
        ("pass_formal_review",),
        WINDOW,
        "identity_verified",
        lambda _r: {"document_number": APP.applicant_id_number},
    ),
    "fail_identity": Row(
        FailIdentity,
        ("pass_formal_review",),
        WINDOW,
        "identity_failed",
        lambda _r: {"reasons": ["人证不一致"]},
    ),
    "forward": Row(Forward, ("pass_formal_review", "verify_identity"), WINDOW, "forwarded"),
    "accept": Row(Accept, ("pass_formal_review", "verify_identity", "forward"), HOME, "accepted"),
    "transfer": Row(
        Transfer,
        ("pass_formal_review", "verify_identity", "forward"),
        HOME,
        "forwarded",
        lambda _r: {"reasons": ["属南京市玄武区人社局管辖"], "department_code": "RS320102"},
    ),
    "return_to_window": Row(
        ReturnToWindow,
        ("pass_formal_review", "verify_identity", "forward"),
        HOME,
        "returned",
        lambda _r: {"reasons": ["扫描件不清晰"]},
    ),
    "mail_originals": Row(
        MailOriginals,
        ("pass_formal_review", "verify_identity", "forward", "accept"),
        WINDOW,
        "originals_mailed",
        lambda _r: {"carrier": "中国邮政EMS", "tracking_no": "1100000000001"},
    ),
    "receive_originals": Row(
        ReceiveOriginals,
        ("pass_formal_review", "verify_identity", "forward", "accept", "mail_originals"),
        HOME,
        "originals_received",
    ),
    "approve": Row(
        Approve,
        (
            "pass_formal_review",
            "verify_identity",
            "forward",
            "accept",
            "mail_originals",
            "receive_originals",
        ),
        HOME,
        "approved",
    ),
    "refuse": Row(
        Refuse,
        (
            "pass_formal_review",
            "verify_identity",
            "forward",
            "accept",
            "mail_originals",
            "receive_originals",
        ),
        HOME,
        "refused",
        lambda _r: {"reasons": ["学历证书信息无法核实"]},
    ),
    "deliver": Row(
        Deliver,
        (
            "pass_formal_review",
            "verify_identity",
            "forward",
            "accept",
            "mail_originals",
            "receive_originals",
            "approve",
        ),
        EITHER,
        "delivered",
        _delivery,
        workflow_refuses=WINDOW,  # nothing at the window yet
    ),
    "send_to_window": Row(SendToWindow, (*DECIDING, "approve"), HOME, "at_window"),
    "deliver_at_window": Row(
        Deliver,
        (*DECIDING, "approve", "send_to_window"),
        EITHER,
        "delivered",
        _delivery,
        workflow_refuses=HOME,  # the result is the window's to hand over
    ),
    "complete": Row(
        Complete,
        (
            "pass_formal_review",
            "verify_identity",
            "forward",
            "accept",
            "mail_originals",
            "receive_originals",
            "approve",
            "deliver",
            "return_originals",
        ),
        EITHER,
        "completed",
    ),
    "return_originals": Row(
        ReturnOriginals,
        (*DECIDING, "approve"),
        HOME,
        "approved",
        lambda _r: {"carrier": "中国邮政EMS", "tracking_no": "1100000000004"},
    ),
    # Time that does not count: the case stays where it is (原件已寄达), its clock paused.
    "request_home_supplement": Row(
        RequestHomeSupplement,
        DECIDING,
        HOME,
        "originals_received",
        lambda _r: {"notice_items": ["近期免冠照片"]},
    ),
    "receive_home_supplement": Row(
        ReceiveHomeSupplement, (*DECIDING, "request_home_supplement"), HOME, "originals_received"
    ),
    "suspend": Row(Suspend, DECIDING, HOME, "originals_received", lambda _r: SUSPENSION),
    "resume": Row(Resume, (*DECIDING, "suspend"), HOME, "originals_received"),
    "start_special_procedure": Row(
        StartSpecialProcedure,
        DECIDING,
        HOME,
        "originals_received",
        lambda _r: {"reasons": ["须专家评审"], "procedure": "expert_review", "expected_days": 5},
    ),
    "end_special_procedure": Row(
        EndSpecialProcedure, (*DECIDING, "start_special_procedure"), HOME, "originals_received"
    ),
    "terminate": Row(
        Terminate,
        (*DECIDING, "suspend"),
        HOME,
        "terminated",
        lambda _r: {
            "reasons": ["申请人死亡"],
            "legal_basis": "《行政许可法》第七十条",
            "return_carrier": "中国邮政EMS",
            "return_tracking_no": "1100000000005",
        },
    ),
    "withdraw": Row(Withdraw, (), EITHER, "withdrawn", lambda _r: {"reasons": ["申请人撤回"]}),
    # Withdrawal is the applicant's wish: either side records it, also once forwarded.
    "withdraw_after_forwarding": Row(
        Withdraw,
        ("pass_formal_review", "verify_identity", "forward"),
        EITHER,
        "withdrawn",
        lambda _r: {"reasons": ["申请人撤回"]},
    ),
}


def _forwarded(action: str) -> bool:
    """Whether the case was forwarded on the way to `action` (the home side sees it)."""
    return "forward" in ROWS[action].path


def _expected(action: str, role: str) -> bool:
    if role in HOME and not _forwarded(action):
        return False
    return role in ROWS[action].allowed - ROWS[action].workflow_refuses


def _refusal(action: str, role: str) -> type[DomainError]:
    if role in ROWS[action].workflow_refuses:
        return TransitionError
    sees_it = (
        role.startswith(("supervisor", "admin"))
        or role in WINDOW
        or (role in HOME and _forwarded(action))
    )
    return ScopeDenied if sees_it else CaseNotFound


MATRIX = [
    pytest.param(
        action, role, id=f"{action}-{role}-{'ok' if _expected(action, role) else 'denied'}"
    )
    for action in ROWS
    for role in ROLES
]


@pytest.mark.parametrize("action", ["pass_formal_review", "verify_identity", "forward"])
def test_the_home_department_cannot_see_a_case_before_it_is_forwarded(
    world: World, action: str
) -> None:
    no = prepared_case(world, action)
    reviewer = world.actors[ROLES["reviewer_own_dept"]]
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        with pytest.raises(CaseNotFound):
            check_can_read(uow.session, reviewer, case)
    world.act(ROWS[action].command, "clerk.cz", no, **ROWS[action].kwargs("clerk_own_office"))
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        if action == "forward":
            check_can_read(uow.session, reviewer, case)  # from the forward on, it does
        else:
            with pytest.raises(CaseNotFound):
                check_can_read(uow.session, reviewer, case)


# --- the world --------------------------------------------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp(f"scope-{request.param}")
    with fresh_runtime(request.param, folder) as runtime:
        w = build_world(runtime)
        for username, region in (("supervisor.bj", "110000"), ("supervisor.zj", "330000")):
            w.actors[username] = add_supervisor(runtime, username, region)
        declare_items(runtime.uow(), "RS320102", ["1-01"])  # somewhere to transfer to
        yield w


def _rightful(row: Row, role_hint: str = "") -> str:
    if role_hint in row.allowed:
        return ROLES[role_hint]
    return ROLES[sorted(row.allowed)[0]]


def prepared_case(w: World, action: str) -> str:
    """A fresh case in the state where `action` is possible, driven there by rightful actors."""
    no = w.receive(APP, "clerk.cz")
    w.scan(no)  # the scans, so that a forward is the one event it adds
    for step in ROWS[action].path:
        row = ROWS[step]
        who = _rightful(row, "reviewer_own_dept")  # EITHER steps: deliver by mail, from home
        role = next(k for k, v in ROLES.items() if v == who)
        w.act(row.command, who, no, **row.kwargs(role))
    return no


# --- acting on a case --------------------------------------------------------------------


@pytest.mark.parametrize(("action", "role"), MATRIX)
def test_action_scope(world: World, action: str, role: str) -> None:
    row = ROWS[action]
    no = prepared_case(world, action)
    actor = world.actors[ROLES[role]]
    before = snapshot(world.rt, no)

    def run() -> CaseView:
        return world.act(row.command, ROLES[role], no, **row.kwargs(role))

    if _expected(action, role):
        view = run()
        assert view.state == row.target
        after = snapshot(world.rt, no)
        assert len(after.events) == len(before.events) + 1
        with world.uow() as uow:
            last = uow.session.scalars(
                select(AuditEvent)
                .join(Case, Case.id == AuditEvent.case_id)
                .where(Case.case_no == no)
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            ).one()
            assert (last.actor_id, last.role, last.unit) == (
                actor.user_id,
                actor.role.value,
                actor.unit,
            )
    else:
        refusal = _refusal(action, role)
        with pytest.raises(refusal) as err:
            run()
        if refusal is TransitionError:
            assert err.value.code in ("delivery.not_at_window", "delivery.at_window")
        else:
            assert err.value.code == refusal.code
        assert snapshot(world.rt, no) == before


def test_every_case_action_of_the_table_is_in_the_matrix() -> None:
    assert {a.command for a in ACTIONS} - TIME_BOUND == {row.command for row in ROWS.values()}
    assert {a.name for a in ACTIONS if a.command not in TIME_BOUND} <= set(ROWS)
    # Each row expects what the table declares: who may take it, and where it leads.
    for name, row in ROWS.items():
        action = next(a for a in ACTIONS if a.command is row.command)
        if name in ACTIONS_BY_NAME:
            assert ACTIONS_BY_NAME[name] is action, name
        assert row.allowed == ALLOWED_FOR_SIDE[action.side], name
        # No target: the case stays where the row's path left it.
        left_at = ROWS[row.path[-1]].target if row.path else "received"
        assert row.target == (action.target or left_at), name


# --- registering a case -------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLES))
def test_register_scope(world: World, role: str) -> None:
    """Any clerk registers — at its own office, whatever case number it gets; nobody else."""
    actor = world.actors[ROLES[role]]
    app = card_application()

    def counts() -> tuple[int, int, int]:
        with world.uow() as uow:
            s = uow.session
            return (
                s.scalar(select(func.count()).select_from(Case)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
                s.scalar(select(func.coalesce(func.sum(CaseCounter.last), 0))) or 0,
            )

    before = counts()
    if role.startswith("clerk"):
        view = receive(world.uow(), app, actor=actor, now=world.tick())
        assert actor.office_code is not None
        assert view.case_no.startswith(actor.office_code + "-")
        assert view.state == "received"
        assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
        with world.uow() as uow:
            case = uow.session.scalars(select(Case).where(Case.case_no == view.case_no)).one()
            assert case.office_id == actor.office_id
    else:
        with pytest.raises(ScopeDenied) as err:
            receive(world.uow(), app, actor=actor, now=world.tick())
        assert err.value.code == "scope.denied"
        assert counts() == before


# --- reading a case ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forwarded_case(world: World) -> str:
    return prepared_case(world, "accept")


@pytest.mark.parametrize("role", list(READERS))
def test_read_scope(world: World, forwarded_case: str, role: str) -> None:
    actor = world.actors[READERS[role]]
    before = snapshot(world.rt, forwarded_case)
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == forwarded_case)).one()
        if role in CAN_READ:
            check_can_read(uow.session, actor, case)
        else:
            with pytest.raises(CaseNotFound) as err:
                check_can_read(uow.session, actor, case)
            assert err.value.code == "case.not_found"
    assert snapshot(world.rt, forwarded_case) == before


def test_supervisor_region_is_a_prefix_not_a_substring(world: World) -> None:
    """A supervisor of 170000 is not in region for 341700 (the code contains '17')."""
    actor = add_supervisor(world.rt, "supervisor.odd", "170000")
    no = prepared_case(world, "pass_formal_review")
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        with pytest.raises(CaseNotFound):
            check_can_read(uow.session, actor, case)
