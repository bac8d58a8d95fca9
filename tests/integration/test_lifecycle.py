"""Every transition of the proxy lifecycle, driven through the services, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tongban.models import AuditEvent, Case, Deadline
from tongban.services.audit.chain import verify_chains
from tongban.services.cases.queries import case_detail
from tongban.services.cases.receive import receive as receive_case
from tongban.services.cases.views import CaseView
from tongban.services.core.errors import (
    CaseNotFound,
    InvalidInput,
    ScopeDenied,
    StaleVersion,
    TransitionError,
)
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines.accountability import case_accountability
from tongban.workflow.commands import (
    Accept,
    AgentIn,
    Application,
    Approve,
    CaseCommand,
    Complete,
    Decline,
    Deliver,
    FailIdentity,
    Forward,
    MailOriginals,
    MaterialIn,
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
from tongban.workflow.identity import DocumentType
from tongban.workflow.parties import AgentRole, Present

from ..world import World, build_world, card_application, diploma_application, make


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def act(w: World, command: type[CaseCommand], who: str, case_no: str, **kw: object) -> CaseView:
    return w.act(command, who, case_no, **kw)


def receive(w: World, app: Application, clerk: str = "clerk.cz") -> str:
    return w.receive(app, clerk)


COMPANY_CODE = "91350100M000100Y43"
MINOR_ID = "341702201703150023"  # born 2017-03-15: nine at the time of the world
GUARDIAN_ID = "11010519491231002X"


def agent(role: AgentRole, number: str = GUARDIAN_ID) -> AgentIn:
    return AgentIn(
        role=role, name="王建国", document_type=DocumentType.RESIDENT_ID,
        document_number=number, phone="13800000000", relationship="父子",
    )  # fmt: skip


def events(w: World, case_no: str) -> list[tuple[str, str | None, str | None]]:
    with w.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == case_no)).one()
        rows = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        )
        return [(e.action, e.from_state, e.to_state) for e in rows]


def clocks(w: World, case_no: str) -> list[tuple[str, str]]:
    with w.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == case_no)).one()
        rows = uow.session.scalars(
            select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)
        )
        return [(d.stage, d.status) for d in rows]


def front(w: World, case_no: str, app: Application, clerk: str = "clerk.cz") -> None:
    act(w, PassFormalReview, clerk, case_no)
    act(w, VerifyIdentity, clerk, case_no, document_number=app.applicant_id_number)
    act(w, Forward, clerk, case_no)


def test_full_lifecycle_with_originals(world: World) -> None:
    app = diploma_application()
    no = receive(world, app)
    front(world, no, app)
    act(world, Accept, "reviewer.gz", no)
    with pytest.raises(TransitionError) as err:
        act(world, Approve, "reviewer.gz", no)
    assert err.value.code == "decision.originals_missing"
    act(world, MailOriginals, "clerk.cz", no, carrier="中国邮政EMS", tracking_no="1100000000001")
    act(world, ReceiveOriginals, "reviewer.gz", no)
    # The notary's guide names its decisions: 出具公证书 / 不予办理公证.
    reviewer = world.actors["reviewer.gz"]
    offered = case_detail(world.uow(), actor=reviewer, case_no=no, now=world.tick()).actions
    labels = {a.action: a.label for a in offered}
    assert (labels["approve"], labels["refuse"]) == ("出具公证书", "不予办理公证")
    act(world, Approve, "reviewer.gz", no)
    detail = case_detail(world.uow(), actor=reviewer, case_no=no, now=world.tick())
    assert detail.history[-1].payload["decision_label"] == "出具公证书"
    act(world, Deliver, "reviewer.gz", no, method="mail", carrier="EMS", tracking_no="11002")
    # The notary still holds the diploma: it goes back before the case completes.
    with pytest.raises(TransitionError) as held:
        act(world, Complete, "reviewer.gz", no)
    assert held.value.code == "originals.not_returned"
    returned = act(world, ReturnOriginals, "reviewer.gz", no, carrier="EMS", tracking_no="11003")
    assert returned.state == "delivered"
    view = act(world, Complete, "reviewer.gz", no)
    assert view.state == "completed"
    assert [e[0] for e in events(world, no)] == [
        "receive",
        "pass_formal_review",
        "verify_identity",
        # The scans of the three materials, uploaded before the push (World.act).
        "upload_material",
        "upload_material",
        "upload_material",
        "forward",
        "accept",
        "mail_originals",
        "receive_originals",
        "approve",
        "deliver",
        "return_originals",
        "complete",
    ]
    assert clocks(world, no) == [
        ("forward", "closed"),
        ("accept", "closed"),
        ("mail", "closed"),
        ("transit", "closed"),
        ("decide", "closed"),
        ("deliver", "closed"),
    ]
    assert verify_chains(world.uow()) == []


def test_without_originals_the_mailing_step_is_skipped(world: World) -> None:
    app = card_application()
    no = receive(world, app, "clerk.gc")
    front(world, no, app, "clerk.gc")
    act(world, Accept, "reviewer.rs", no)
    with pytest.raises(TransitionError) as err:
        act(world, MailOriginals, "clerk.gc", no, carrier="EMS", tracking_no="1")
    assert err.value.code == "originals.not_required"
    act(world, Approve, "reviewer.rs", no)
    with pytest.raises(TransitionError) as wrong_side:
        act(world, Deliver, "reviewer.rs", no, method="window")
    assert wrong_side.value.code == "delivery.wrong_side"
    with pytest.raises(TransitionError) as not_yet:
        act(world, Deliver, "clerk.gc", no, method="window")
    assert not_yet.value.code == "delivery.not_at_window"
    assert act(world, SendToWindow, "reviewer.rs", no).state == "at_window"
    act(world, Deliver, "clerk.gc", no, method="window")
    assert act(world, Complete, "clerk.gc", no).state == "completed"
    assert clocks(world, no) == [
        ("forward", "closed"),
        ("accept", "closed"),
        ("decide", "closed"),
        ("deliver", "closed"),
        ("pickup", "closed"),
    ]


def test_supplement_pauses_and_resumes_the_forward_clock(world: World) -> None:
    no = receive(world, diploma_application())
    with pytest.raises(TransitionError) as err:
        act(world, RequestSupplement, "clerk.cz", no, notice_items=[" "])
    assert err.value.code == "supplement.notice_empty"
    act(world, RequestSupplement, "clerk.cz", no, notice_items=["学历证书原件"])
    # The window's clock stops and the applicant's 补正期限 runs.
    assert clocks(world, no) == [("forward", "paused"), ("supplement", "running")]
    act(world, Supplement, "clerk.cz", no, materials=[MaterialIn("chsi_report")])
    assert clocks(world, no) == [("forward", "running"), ("supplement", "closed")]
    assert events(world, no)[-1] == ("supplement", "supplementing", "received")


def test_formal_review_names_the_missing_materials(world: World) -> None:
    app = diploma_application()
    partial = Application(**{**app.__dict__, "materials": (MaterialIn("id_card"),)})
    no = receive(world, partial)
    with pytest.raises(TransitionError) as err:
        act(world, PassFormalReview, "clerk.cz", no)
    assert err.value.code == "formal_review.materials_missing"
    assert "学历证书" in err.value.message
    act(world, RequestSupplement, "clerk.cz", no, notice_items=["毕业证书原件", "申请表"])
    act(
        world,
        Supplement,
        "clerk.cz",
        no,
        materials=[MaterialIn("diploma"), MaterialIn("application_form")],
    )
    assert act(world, PassFormalReview, "clerk.cz", no).state == "formally_reviewed"


def test_return_to_window_and_forward_again(world: World) -> None:
    app = diploma_application()
    no = receive(world, app)
    front(world, no, app)
    act(world, ReturnToWindow, "reviewer.gz", no, reasons=["扫描件不清晰"])
    assert act(world, Forward, "clerk.cz", no).state == "forwarded"
    assert [s for s, _ in clocks(world, no)] == ["forward", "accept", "forward", "accept"]
    assert events(world, no)[-2] == ("return_to_window", "forwarded", "returned")


@pytest.mark.parametrize(
    ("command", "kw", "final"),
    [
        (Decline, {"reasons": ["本窗口不承接该事项"]}, "declined"),
        (Withdraw, {"reasons": ["申请人撤回"]}, "withdrawn"),
    ],
)
def test_ending_at_the_window(
    world: World, command: type[CaseCommand], kw: dict[str, object], final: str
) -> None:
    no = receive(world, diploma_application())
    assert act(world, command, "clerk.cz", no, **kw).state == final
    assert clocks(world, no) == [("forward", "closed")]
    with pytest.raises(TransitionError):
        act(world, PassFormalReview, "clerk.cz", no)


def test_identity_failure_ends_the_case(world: World) -> None:
    app = diploma_application()
    no = receive(world, app)
    act(world, PassFormalReview, "clerk.cz", no)
    with pytest.raises(InvalidInput) as err:
        act(
            world,
            VerifyIdentity,
            "clerk.cz",
            no,
            document_number=diploma_application("999").applicant_id_number,
        )
    assert (err.value.code, err.value.field) == ("identity.mismatch", "document_number")
    assert act(world, FailIdentity, "clerk.cz", no, reasons=["人证不一致"]).state == (
        "identity_failed"
    )


def test_withdraw_after_forwarding_by_the_home_side_but_not_after_decision(world: World) -> None:
    app = card_application()
    no = receive(world, app, "clerk.gc")
    front(world, no, app, "clerk.gc")
    act(world, Accept, "reviewer.rs", no)
    act(world, Approve, "reviewer.rs", no)
    with pytest.raises(TransitionError) as err:
        act(world, Withdraw, "reviewer.rs", no, reasons=["申请人撤回"])
    assert err.value.code == "transition.not_allowed"


def test_refused_decision_is_delivered_too(world: World) -> None:
    app = card_application()
    no = receive(world, app, "clerk.gc")
    front(world, no, app, "clerk.gc")
    act(world, Accept, "reviewer.rs", no)
    with pytest.raises(TransitionError):
        act(world, Refuse, "reviewer.rs", no, reasons=[])
    act(world, Refuse, "reviewer.rs", no, reasons=["不符合申领条件"])
    assert act(world, Deliver, "reviewer.rs", no, method="electronic").state == "delivered"


def test_stale_expected_version_is_refused_and_writes_nothing(world: World) -> None:
    no = receive(world, diploma_application())
    first = act(world, PassFormalReview, "clerk.cz", no)
    with pytest.raises(StaleVersion) as err:
        act(
            world,
            RequestSupplement,
            "clerk.cz",
            no,
            notice_items=["x"],
            expected_version=first.version - 1,
        )
    assert err.value.code == "case.stale_version"
    assert len(events(world, no)) == 2


def test_refused_actions_leave_case_and_chain_untouched(world: World) -> None:
    no = receive(world, diploma_application())
    before = events(world, no), clocks(world, no)
    for command, kw in [
        (Accept, {}),
        (Approve, {}),
        (Decline, {"reasons": [""]}),
        (NotAccept, {"reasons": ["不属于受理范围"], "legal_basis": "第三十二条"}),
        (Deliver, {"method": "mail", "carrier": "", "tracking_no": ""}),
    ]:
        who = "reviewer.gz" if command in (Accept, Approve) else "clerk.cz"
        # The home department does not see a case before the forward (not found for it);
        # the window may not refuse acceptance (scope).
        with pytest.raises((TransitionError, InvalidInput, CaseNotFound, ScopeDenied)):
            act(world, command, who, no, **kw)
    # A delivery method nobody offers never becomes a command (the API refuses it first).
    with pytest.raises(ValueError):
        make(Deliver, no, method="fax")
    assert (events(world, no), clocks(world, no)) == before


@pytest.mark.parametrize(
    ("change", "present", "number"),
    [
        ({"applicant_id_number": MINOR_ID, "agent": agent(AgentRole.GUARDIAN)}, "agent",
         GUARDIAN_ID),
        ({"agent": agent(AgentRole.PROXY)}, "agent", GUARDIAN_ID),
        ({"applicant_kind": "company", "applicant_id_number": COMPANY_CODE,
          "legal_representative": "张三", "applicant_name": "池州某某科技有限公司",
          "agent": AgentIn(role=AgentRole.HANDLER, name="李明",
                           document_type=DocumentType.TAIWAN_PASS, document_number="12345678")},
         "agent", "12345678"),
    ],
)  # fmt: skip
def test_the_person_present_is_the_one_checked(
    world: World, change: dict[str, object], present: str, number: str
) -> None:
    """Agents on SQLite and PostgreSQL: the wrong person's document is refused, the right
    one's passes, and the audit event says who was checked with which document type."""
    app = Application(**{**diploma_application().__dict__, **change})
    no = receive_case(world.uow(), app, actor=world.actors["clerk.cz"], now=world.tick()).case_no
    act(world, PassFormalReview, "clerk.cz", no)
    with pytest.raises(InvalidInput) as err:  # the applicant, who is not the one present
        act(world, VerifyIdentity, "clerk.cz", no, document_number=number)
    assert err.value.field in ("document_number", "person")
    act(world, VerifyIdentity, "clerk.cz", no, person=Present(present), document_number=number)
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        last = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        ).all()[-1]
        assert last.action == "verify_identity"
        assert last.payload["verified"] == present
        assert last.payload["document_type"] == (
            "taiwan_pass" if change.get("applicant_kind") == "company" else "resident_id"
        )
        assert number not in str(last.payload)  # masked
        assert case.agent_role is not None and case.agent_name
        assert case.agent_document_number == number


def test_transfer_hands_the_case_and_its_clock_to_the_competent_department(
    world: World,
) -> None:
    no = receive(world, card_application())  # to RS320102 (Nanjing)
    world.forward(no)
    for code, fragment in (("RS320102", "另一有管辖权的部门"), ("NOPE", "不存在")):
        with pytest.raises(InvalidInput) as err:
            act(world, Transfer, "reviewer.rs", no, reasons=["非本部门职权"], department_code=code)
        assert err.value.field == "department_code" and fragment in err.value.message
    with pytest.raises(TransitionError):  # a transfer says why
        act(world, Transfer, "reviewer.rs", no, reasons=[" "], department_code="RS341700")
    view = act(
        world, Transfer, "reviewer.rs", no, reasons=["属池州市人社局管辖"],
        department_code="RS341700",
    )  # fmt: skip
    assert view.state == "forwarded"
    # The first department's accept clock stopped, the second's started.
    report = case_accountability(world.uow(), no, now=world.tick())
    accepts = [(s.unit_code, s.status) for s in report.stages if s.stage == "accept"]
    assert accepts == [("RS320102", "closed"), ("RS341700", "running")]
    assert events(world, no)[-1] == ("transfer", "forwarded", "forwarded")
    # The case is now the second department's: the first no longer sees it.
    with pytest.raises(CaseNotFound):
        act(world, Accept, "reviewer.rs", no)
    assert act(world, Accept, "reviewer.cz", no).state == "accepted"
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        event = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.action == "transfer")
        ).one()
        assert (event.unit, event.payload["department_code"]) == ("RS320102", "RS341700")
        assert event.reasons == ["属池州市人社局管辖"]


def test_case_numbers_are_sequential_per_office_and_day(world: World) -> None:
    first = receive(world, diploma_application())
    second = receive(world, diploma_application("124"))
    other = receive(world, card_application(), "clerk.gc")
    assert first.rsplit("-", 1)[1] == "0001" and second.rsplit("-", 1)[1] == "0002"
    assert first.startswith("CZ01-20260310-") and other == "GC01-20260310-0001"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            {"applicant_id_number": "341702199003151230"},
            "input.invalid_id_number",
            "applicant_id_number",
        ),
        (
            {"applicant_kind": "company", "applicant_id_number": "91350100M000100Y44"},
            "input.invalid_id_number",
            "applicant_id_number",
        ),
        ({"applicant_kind": "alien"}, "input.invalid", "applicant_kind"),
        ({"item_code": "9-99"}, "input.invalid", "item_code"),
        ({"department_code": "NOPE"}, "input.invalid", "department_code"),
        ({"delivery_preference": "electronic"}, "input.invalid", "delivery_preference"),
        ({"delivery_address": " "}, "input.invalid", "delivery_address"),
        ({"materials": (MaterialIn("passport"),)}, "input.invalid", "materials"),
        ({"applicant_name": " "}, "input.invalid", "applicant_name"),
        # A company: its 法定代表人, and the 经办人 who appears (checked at the identity step).
        (
            {"applicant_kind": "company", "applicant_id_number": COMPANY_CODE},
            "input.invalid",
            "legal_representative",
        ),
        (
            {"applicant_kind": "company", "applicant_id_number": COMPANY_CODE,
             "legal_representative": "张三"},
            "input.invalid",
            "agent",
        ),
        (
            {"applicant_kind": "company", "applicant_id_number": COMPANY_CODE,
             "legal_representative": "张三", "agent": agent(AgentRole.PROXY)},
            "input.invalid",
            "agent.role",
        ),
        (
            {"applicant_kind": "company", "applicant_id_number": "H12345678",
             "applicant_document_type": DocumentType.HK_MACAO_PASS},
            "input.invalid",
            "applicant_document_type",
        ),
        # A child of nine comes with a guardian, or not at all.
        ({"applicant_id_number": MINOR_ID}, "input.invalid", "agent"),
        (
            {"agent": agent(AgentRole.GUARDIAN, number="11010519491231002Y")},
            "input.invalid_id_number",
            "agent.document_number",
        ),
        (
            {"agent": agent(AgentRole.PROXY, number=diploma_application().applicant_id_number)},
            "input.invalid",
            "agent.document_number",
        ),
    ],
)  # fmt: skip
def test_bad_applications_are_refused_naming_the_field(
    world: World, change: dict[str, object], code: str, field: str
) -> None:
    app = Application(**{**diploma_application().__dict__, **change})
    with pytest.raises(InvalidInput) as err:
        receive_case(world.uow(), app, actor=world.actors["clerk.cz"], now=world.tick())
    assert (err.value.code, err.value.field) == (code, field)
    with world.uow() as uow:
        assert uow.session.scalars(select(Case)).first() is None
