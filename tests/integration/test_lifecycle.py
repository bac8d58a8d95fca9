"""Every transition of the proxy lifecycle, driven through the services, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tongban.models import AuditEvent, Case, Deadline
from tongban.services import cases as c
from tongban.services.audit import verify_chains
from tongban.services.errors import InvalidInput, StaleVersion, TransitionError
from tongban.services.runtime import Runtime

from ..world import World, build_world, card_application, diploma_application


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def act(w: World, fn: object, who: str, case_no: str, **kw: object) -> c.CaseView:
    return fn(w.uow(), w.rt.key, actor=w.actors[who], case_no=case_no, now=w.tick(), **kw)  # type: ignore[operator]


def receive(w: World, app: c.Application, clerk: str = "clerk.cz") -> str:
    return c.register_case(
        w.uow(), w.rt.key, actor=w.actors[clerk], application=app, now=w.tick()
    ).case_no


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


def front(w: World, case_no: str, app: c.Application, clerk: str = "clerk.cz") -> None:
    act(w, c.pass_formal_review, clerk, case_no)
    act(w, c.verify_identity, clerk, case_no, document_number=app.applicant_id_number)
    act(w, c.forward, clerk, case_no)


def test_full_lifecycle_with_originals(world: World) -> None:
    app = diploma_application()
    no = receive(world, app)
    front(world, no, app)
    act(world, c.accept, "reviewer.gz", no)
    with pytest.raises(TransitionError) as err:
        act(world, c.approve, "reviewer.gz", no)
    assert err.value.code == "decision.originals_missing"
    act(world, c.mail_originals, "clerk.cz", no, carrier="中国邮政EMS", tracking_no="1100000000001")
    act(world, c.receive_originals, "reviewer.gz", no)
    act(world, c.approve, "reviewer.gz", no)
    act(world, c.deliver, "reviewer.gz", no, method="mail", carrier="EMS", tracking_no="11002")
    view = act(world, c.complete, "reviewer.gz", no)
    assert view.state == "completed"
    assert [e[0] for e in events(world, no)] == [
        "receive",
        "pass_formal_review",
        "verify_identity",
        "forward",
        "accept",
        "mail_originals",
        "receive_originals",
        "approve",
        "deliver",
        "complete",
    ]
    assert clocks(world, no) == [
        ("forward", "closed"),
        ("accept", "closed"),
        ("mail", "closed"),
        ("decide", "closed"),
        ("deliver", "closed"),
    ]
    with world.uow() as uow:
        assert verify_chains(uow.session, world.rt.key) == []


def test_without_originals_the_mailing_step_is_skipped(world: World) -> None:
    app = card_application()
    no = receive(world, app, "clerk.gc")
    front(world, no, app, "clerk.gc")
    act(world, c.accept, "reviewer.rs", no)
    with pytest.raises(TransitionError) as err:
        act(world, c.mail_originals, "clerk.gc", no, carrier="EMS", tracking_no="1")
    assert err.value.code == "originals.not_required"
    act(world, c.approve, "reviewer.rs", no)
    with pytest.raises(TransitionError) as wrong_side:
        act(world, c.deliver, "reviewer.rs", no, method="window")
    assert wrong_side.value.code == "delivery.wrong_side"
    act(world, c.deliver, "clerk.gc", no, method="window")
    assert act(world, c.complete, "clerk.gc", no).state == "completed"
    assert clocks(world, no) == [
        ("forward", "closed"),
        ("accept", "closed"),
        ("decide", "closed"),
        ("deliver", "closed"),
    ]


def test_supplement_pauses_and_resumes_the_forward_clock(world: World) -> None:
    no = receive(world, diploma_application())
    with pytest.raises(TransitionError) as err:
        act(world, c.request_supplement, "clerk.cz", no, notice_items=[" "])
    assert err.value.code == "supplement.notice_empty"
    act(world, c.request_supplement, "clerk.cz", no, notice_items=["学历证书原件"])
    assert clocks(world, no) == [("forward", "paused")]
    act(world, c.record_supplement, "clerk.cz", no, materials=[c.MaterialIn("chsi_report")])
    assert clocks(world, no) == [("forward", "running")]
    assert events(world, no)[-1] == ("supplement", "supplementing", "received")


def test_formal_review_names_the_missing_materials(world: World) -> None:
    app = diploma_application()
    partial = c.Application(**{**app.__dict__, "materials": (c.MaterialIn("id_card"),)})
    no = receive(world, partial)
    with pytest.raises(TransitionError) as err:
        act(world, c.pass_formal_review, "clerk.cz", no)
    assert err.value.code == "formal_review.materials_missing"
    assert "学历证书" in err.value.message
    act(world, c.request_supplement, "clerk.cz", no, notice_items=["毕业证书原件", "申请表"])
    act(
        world,
        c.record_supplement,
        "clerk.cz",
        no,
        materials=[c.MaterialIn("diploma"), c.MaterialIn("application_form")],
    )
    assert act(world, c.pass_formal_review, "clerk.cz", no).state == "formally_reviewed"


def test_return_to_window_and_forward_again(world: World) -> None:
    app = diploma_application()
    no = receive(world, app)
    front(world, no, app)
    act(world, c.return_to_window, "reviewer.gz", no, reasons=["扫描件不清晰"])
    assert act(world, c.forward, "clerk.cz", no).state == "forwarded"
    assert [s for s, _ in clocks(world, no)] == ["forward", "accept", "forward", "accept"]
    assert events(world, no)[-2] == ("return_to_window", "forwarded", "returned")


@pytest.mark.parametrize(
    ("fn", "kw", "final"),
    [
        (c.not_accept, {"reasons": ["不属于受理范围"]}, "not_accepted"),
        (c.withdraw, {"reasons": ["申请人撤回"]}, "withdrawn"),
    ],
)
def test_ending_at_the_window(world: World, fn: object, kw: dict[str, object], final: str) -> None:
    no = receive(world, diploma_application())
    assert act(world, fn, "clerk.cz", no, **kw).state == final
    assert clocks(world, no) == [("forward", "closed")]
    with pytest.raises(TransitionError):
        act(world, c.pass_formal_review, "clerk.cz", no)


def test_identity_failure_ends_the_case(world: World) -> None:
    app = diploma_application()
    no = receive(world, app)
    act(world, c.pass_formal_review, "clerk.cz", no)
    with pytest.raises(InvalidInput) as err:
        act(
            world,
            c.verify_identity,
            "clerk.cz",
            no,
            document_number=diploma_application("999").applicant_id_number,
        )
    assert err.value.code == "identity.mismatch"
    assert act(world, c.fail_identity, "clerk.cz", no, reasons=["人证不一致"]).state == (
        "identity_failed"
    )


def test_withdraw_after_forwarding_by_the_home_side_but_not_after_decision(world: World) -> None:
    app = card_application()
    no = receive(world, app, "clerk.gc")
    front(world, no, app, "clerk.gc")
    act(world, c.accept, "reviewer.rs", no)
    act(world, c.approve, "reviewer.rs", no)
    with pytest.raises(TransitionError) as err:
        act(world, c.withdraw, "reviewer.rs", no, reasons=["申请人撤回"])
    assert err.value.code == "transition.not_allowed"


def test_refused_decision_is_delivered_too(world: World) -> None:
    app = card_application()
    no = receive(world, app, "clerk.gc")
    front(world, no, app, "clerk.gc")
    act(world, c.accept, "reviewer.rs", no)
    with pytest.raises(TransitionError):
        act(world, c.refuse, "reviewer.rs", no, reasons=[])
    act(world, c.refuse, "reviewer.rs", no, reasons=["不符合申领条件"])
    assert act(world, c.deliver, "reviewer.rs", no, method="electronic").state == "delivered"


def test_stale_expected_version_is_refused_and_writes_nothing(world: World) -> None:
    no = receive(world, diploma_application())
    first = act(world, c.pass_formal_review, "clerk.cz", no)
    with pytest.raises(StaleVersion) as err:
        act(
            world,
            c.request_supplement,
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
    for fn, kw in [
        (c.accept, {}),
        (c.approve, {}),
        (c.not_accept, {"reasons": [""]}),
        (c.deliver, {"method": "fax"}),
    ]:
        who = "reviewer.gz" if fn in (c.accept, c.approve) else "clerk.cz"
        with pytest.raises((TransitionError, InvalidInput)):
            act(world, fn, who, no, **kw)
    assert (events(world, no), clocks(world, no)) == before


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
        ({"materials": (c.MaterialIn("passport"),)}, "input.invalid", "materials"),
        ({"applicant_name": " "}, "input.invalid", "applicant_name"),
    ],
)
def test_bad_applications_are_refused_naming_the_field(
    world: World, change: dict[str, object], code: str, field: str
) -> None:
    app = c.Application(**{**diploma_application().__dict__, **change})
    with pytest.raises(InvalidInput) as err:
        c.register_case(
            world.uow(),
            world.rt.key,
            actor=world.actors["clerk.cz"],
            application=app,
            now=world.tick(),
        )
    assert (err.value.code, err.value.field) == (code, field)
    with world.uow() as uow:
        assert uow.session.scalars(select(Case)).first() is None
