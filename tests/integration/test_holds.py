"""Time that does not count: 中止 / 恢复, 特别程序, 补正 after acceptance and 终止, through the
services on both databases. The decision limit must exclude exactly those intervals, and the
accountability view must charge the department only for the days it really held the case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tongban.models import OutboxMessage
from tongban.services.audit.chain import verify_chains
from tongban.services.cases.queries import case_detail
from tongban.services.cases.views import CaseDetail
from tongban.services.core.errors import InvalidInput, TransitionError
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines.accountability import case_accountability, overdue_report
from tongban.services.deadlines.sweeper import sweep
from tongban.workflow.calendar import due_date, period_due
from tongban.workflow.commands import (
    Accept,
    Approve,
    DeemWithdrawn,
    Deliver,
    EndSpecialProcedure,
    Forward,
    MailOriginals,
    PassFormalReview,
    ReceiveHomeSupplement,
    ReceiveOriginals,
    RequestHomeSupplement,
    RequestSupplement,
    Resume,
    SendToWindow,
    StartSpecialProcedure,
    Suspend,
    Terminate,
    VerifyIdentity,
)
from tongban.workflow.holds import SpecialProcedure
from tongban.workflow.stages import DEFAULT_LIMIT_DAYS, Stage

from ..deadline_support import all_alerts, calendar_of, do, open_deadline, receive_at, sh
from ..world import World, build_world, card_application, diploma_application

DECIDE_DAYS = 20  # the 2-21 guide's 承诺时限
BASIS = "《社会保险经办条例》第十条"


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def shown(w: World, who: str, no: str, now: datetime) -> CaseDetail:
    return case_detail(w.uow(), actor=w.actors[who], case_no=no, now=now)


def accepted(w: World, at: datetime, seq: str = "456") -> str:
    """A 2-21 case (no originals to mail) accepted at `at`: its decision clock runs."""
    app = card_application(seq)
    no = receive_at(w, app, at.replace(hour=8), clerk="clerk.gc")
    do(w, PassFormalReview, "clerk.gc", no, at.replace(hour=8, minute=10))
    do(w, VerifyIdentity, "clerk.gc", no, at.replace(hour=8, minute=20),
       document_number=app.applicant_id_number)  # fmt: skip
    do(w, Forward, "clerk.gc", no, at.replace(hour=8, minute=30))
    do(w, Accept, "reviewer.rs", no, at)
    return no


def test_suspension_and_special_procedure_are_excluded_exactly(world: World) -> None:
    rt = world.rt
    cal = calendar_of(rt)
    accept_at = sh(2026, 3, 10, 10)  # Tuesday
    no = accepted(world, accept_at)
    assert open_deadline(rt, no).due_at == period_due(cal, accept_at, DECIDE_DAYS).instant

    # 中止 on Thursday: Wednesday and Thursday are used.
    do(world, Suspend, "reviewer.rs", no, sh(2026, 3, 12, 15),
       reasons=["申请人涉嫌违法正在接受调查"], legal_basis=BASIS)  # fmt: skip
    paused = open_deadline(rt, no)
    assert (paused.status, paused.used_seconds // 86_400) == ("paused", 2)
    # Nothing is decided while it lasts.
    with pytest.raises(TransitionError) as refused:
        do(world, Approve, "reviewer.rs", no, sh(2026, 3, 13, 9))
    assert refused.value.code == "hold.active" and "中止办理" in refused.value.message
    # 恢复 on Monday 23rd: Fri 13, Mon 16 - Fri 20 and Mon 23 are not counted (7 days).
    do(world, Resume, "reviewer.rs", no, sh(2026, 3, 23, 9))
    running = open_deadline(rt, no)
    assert running.status == "running"
    assert running.due_at == period_due(cal, accept_at, DECIDE_DAYS + 7).instant

    # 特别程序 (鉴定, 5 days expected) on Tuesday 24th: Tuesday is used, 3 days in all.
    do(world, StartSpecialProcedure, "reviewer.rs", no, sh(2026, 3, 24, 10),
       procedure=SpecialProcedure.APPRAISAL, expected_days=5,
       reasons=["须作伤残等级鉴定"])  # fmt: skip
    assert open_deadline(rt, no).used_seconds // 86_400 == 3
    detail = shown(world, "reviewer.rs", no, sh(2026, 3, 31, 9))
    assert detail.hold is not None and detail.hold.label == "特别程序"
    assert detail.hold.until == sh(2026, 4, 1)  # five working days: 25th to 31st
    assert detail.hold.time_left == "预计今日届满"  # nobody is charged if it runs over
    # Its own clock, watched: the department hears when the expected days run out.
    special = open_deadline(rt, no, Stage.SPECIAL)
    assert (special.due_at, special.limit_seconds) == (sh(2026, 4, 1), 5 * 86_400)
    assert sweep(rt.uow(), now=sh(2026, 3, 31, 9)).alerts == {"warning": 1}
    assert sweep(rt.uow(), now=sh(2026, 4, 1, 9)).alerts == {"overdue": 1}
    assert [a.recipients for a in all_alerts(rt)] == [["department:RS320102"]] * 2
    # Ends Thursday 2 April: Wed 25 - Thu 2 are not counted (7 days).
    do(world, EndSpecialProcedure, "reviewer.rs", no, sh(2026, 4, 2, 11), reasons=["鉴定完毕"])
    running = open_deadline(rt, no)
    assert running.due_at == period_due(cal, accept_at, DECIDE_DAYS + 14).instant

    detail = shown(world, "reviewer.rs", no, sh(2026, 4, 3, 9))
    assert detail.hold is None
    assert [(x.label, x.days, x.legal_basis) for x in detail.excluded] == [
        ("中止办理", 7, BASIS),
        ("特别程序（鉴定）", 7, ""),
    ]
    assert detail.excluded[0].reasons == ("申请人涉嫌违法正在接受调查",)

    # Decided on the last day the limit allows: 20 counted days, though 34 working days
    # passed since acceptance. Accountability charges the department nothing.
    last_day = due_date(running.due_at)
    do(world, Approve, "reviewer.rs", no, sh(last_day.year, last_day.month, last_day.day, 17))
    stages = case_accountability(world.uow(), no, now=sh(2026, 4, 30, 9)).stages
    decide = next(s for s in stages if s.stage == "decide")
    assert decide.used_days == DECIDE_DAYS and not decide.late
    assert decide.excluded_days == 14
    assert [x.label for x in decide.excluded] == ["中止办理", "特别程序（鉴定）"]
    assert decide.as_dict()["excluded"][0]["legal_basis"] == BASIS
    assert verify_chains(world.uow()) == []


def test_a_decision_a_day_past_the_extended_limit_is_late_by_one_day(world: World) -> None:
    rt = world.rt
    accept_at = sh(2026, 3, 10, 10)
    no = accepted(world, accept_at)
    do(world, Suspend, "reviewer.rs", no, sh(2026, 3, 10, 15), reasons=["等待司法判决"],
       legal_basis=BASIS)  # fmt: skip
    do(world, Resume, "reviewer.rs", no, sh(2026, 3, 13, 9))  # Wed 11 - Fri 13 excluded
    due = open_deadline(rt, no).due_at
    assert due == period_due(calendar_of(rt), accept_at, DECIDE_DAYS + 3).instant
    # Decided at 09:00 on the first working day after the last one: one day late, no more.
    next_day = due_date(period_due(calendar_of(rt), due - timedelta(seconds=1), 1).instant)
    do(world, Approve, "reviewer.rs", no, sh(next_day.year, next_day.month, next_day.day, 9))
    decide = next(
        s for s in case_accountability(world.uow(), no, now=due).stages if s.stage == "decide"
    )
    assert (decide.used_days, decide.days_over, decide.late) == (DECIDE_DAYS + 1, 1, True)


def test_home_supplement_runs_against_the_applicants_period(world: World) -> None:
    rt = world.rt
    cal = calendar_of(rt)
    no = accepted(world, sh(2026, 3, 10, 10))
    with pytest.raises(InvalidInput) as empty:
        do(world, RequestHomeSupplement, "reviewer.rs", no, sh(2026, 3, 11, 9), notice_items=[" "])
    assert empty.value.field == "notice_items"
    asked = sh(2026, 3, 11, 9)
    do(world, RequestHomeSupplement, "reviewer.rs", no, asked, notice_items=["近期免冠照片"])
    detail = shown(world, "clerk.gc", no, asked)
    assert detail.hold is not None and detail.hold.label == "受理后补正"
    assert detail.hold.until == period_due(cal, asked, DEFAULT_LIMIT_DAYS[Stage.SUPPLEMENT]).instant
    assert open_deadline(rt, no).status == "paused"
    do(world, ReceiveHomeSupplement, "reviewer.rs", no, sh(2026, 3, 16, 10))
    assert open_deadline(rt, no).status == "running"
    (interval,) = shown(world, "reviewer.rs", no, sh(2026, 3, 17, 9)).excluded  # fmt: skip
    assert (interval.label, interval.days) == ("受理后补正", 3)  # Thu, Fri, Mon


def test_termination_ends_the_case_and_its_hold(world: World) -> None:
    no = accepted(world, sh(2026, 3, 10, 10))
    do(world, Suspend, "reviewer.rs", no, sh(2026, 3, 11, 9), reasons=["申请人死亡"],
       legal_basis=BASIS)  # fmt: skip
    with pytest.raises(InvalidInput) as no_basis:
        do(world, Terminate, "reviewer.rs", no, sh(2026, 3, 12, 9), reasons=["申请人死亡"],
           legal_basis=" ")  # fmt: skip
    assert (no_basis.value.code, no_basis.value.field) == (
        "transition.basis_required",
        "legal_basis",
    )
    view = do(world, Terminate, "reviewer.rs", no, sh(2026, 3, 12, 9), reasons=["申请人死亡"],
              legal_basis="《行政许可法》第七十条")  # fmt: skip
    assert view.state == "terminated" and view.state_label == "已终止"
    detail = shown(world, "reviewer.rs", no, sh(2026, 3, 20, 9))
    assert detail.final and detail.hold is None and detail.actions == []
    (interval,) = detail.excluded
    assert interval.ended_at == sh(2026, 3, 12, 9) and interval.days == 1
    assert all(d.status == "closed" for d in detail.deadlines)


def test_holds_are_offered_only_while_deciding(world: World) -> None:
    no = accepted(world, sh(2026, 3, 10, 10))
    names = {a.action for a in shown(world, "reviewer.rs", no, sh(2026, 3, 10, 11)).actions}
    assert {"suspend", "start_special_procedure", "request_home_supplement", "terminate"} <= names
    assert not names & {"resume", "end_special_procedure", "receive_home_supplement"}
    with pytest.raises(TransitionError) as not_held:
        do(world, Resume, "reviewer.rs", no, sh(2026, 3, 10, 12))
    assert not_held.value.code == "hold.not_active"
    do(world, Suspend, "reviewer.rs", no, sh(2026, 3, 10, 13), reasons=["x"], legal_basis=BASIS)
    held = {a.action for a in shown(world, "reviewer.rs", no, sh(2026, 3, 10, 14)).actions}
    assert held == {"resume", "terminate", "withdraw"}


# --- watched periods: nobody is charged when they run over --------------------------------


def test_originals_late_in_transit_alert_both_sides_and_blame_neither(world: World) -> None:
    rt = world.rt
    app = diploma_application()
    no = receive_at(world, app, sh(2026, 3, 10, 8))
    do(world, PassFormalReview, "clerk.cz", no, sh(2026, 3, 10, 8, 10))
    do(world, VerifyIdentity, "clerk.cz", no, sh(2026, 3, 10, 8, 20),
       document_number=app.applicant_id_number)  # fmt: skip
    do(world, Forward, "clerk.cz", no, sh(2026, 3, 10, 8, 30))
    do(world, Accept, "reviewer.gz", no, sh(2026, 3, 10, 10))
    do(world, MailOriginals, "clerk.cz", no, sh(2026, 3, 10, 11),
       carrier="中国邮政EMS", tracking_no="1100123456789")  # fmt: skip
    transit = open_deadline(rt, no, Stage.TRANSIT)
    # The guide says nothing: 3 working days on the road, Wed to Fri.
    assert transit.due_at == sh(2026, 3, 14) and transit.owner_side == "either"
    # No warning while on the road; once late, both units hear of it with the tracking number.
    assert sweep(rt.uow(), now=sh(2026, 3, 13, 20)).recorded == 0
    assert sweep(rt.uow(), now=sh(2026, 3, 16, 9)).alerts == {"overdue": 1}
    (alert,) = all_alerts(rt)
    assert alert.stage == "transit"
    assert alert.recipients == ["office:CZ01", "department:GZ330106"]  # no supervisor
    with rt.uow() as uow:
        messages = uow.session.scalars(select(OutboxMessage)).all()
        assert len(messages) == 2  # one per recipient
        for message in messages:
            assert "1100123456789" in message.body and "中国邮政EMS" in message.body
            assert "不计入任何一方" in message.body
    # Nobody's 超期: the accountability report has no row for it.
    assert overdue_report(world.uow(), now=sh(2026, 3, 16, 9)).rows == ()
    stages = case_accountability(world.uow(), no, now=sh(2026, 3, 16, 9)).stages
    assert [(s.stage, s.late) for s in stages if s.stage == "transit"] == [("transit", False)]
    # The case page says how far past the estimate, without a red mark.
    shown_now = shown(world, "clerk.cz", no, sh(2026, 3, 16, 9))
    current = next(d for d in shown_now.deadlines if d.stage == "transit")
    assert (current.alert, current.owner_label) == (None, "不计入任何一方")
    assert current.time_left == "已超出预计 1 个工作日"
    # Arrival ends the transit and starts the decision.
    do(world, ReceiveOriginals, "reviewer.gz", no, sh(2026, 3, 16, 15))
    assert open_deadline(rt, no).stage == "decide"


def test_a_supplement_period_that_runs_out_may_be_deemed_withdrawn(world: World) -> None:
    rt = world.rt
    no = receive_at(world, diploma_application(), sh(2026, 3, 10, 9))
    asked = sh(2026, 3, 10, 10)
    do(world, RequestSupplement, "clerk.cz", no, asked, notice_items=["学历证书原件"])
    period = open_deadline(rt, no, Stage.SUPPLEMENT)
    assert period.due_at == period_due(calendar_of(rt), asked, 10).instant == sh(2026, 3, 25)
    # Reminded before it runs out; the department has not seen the case, so only the window.
    assert sweep(rt.uow(), now=period.warn_at).alerts == {"warning": 1}
    assert all_alerts(rt)[-1].recipients == ["office:CZ01"]
    with pytest.raises(TransitionError) as early:
        do(world, DeemWithdrawn, "clerk.cz", no, sh(2026, 3, 24, 17))
    assert early.value.code == "supplement.period_running"
    names = {a.action for a in shown(world, "clerk.cz", no, sh(2026, 3, 24, 17)).actions}
    assert "deem_withdrawn" not in names
    assert sweep(rt.uow(), now=sh(2026, 3, 25, 9)).alerts == {"overdue": 1}
    names = {a.action for a in shown(world, "clerk.cz", no, sh(2026, 3, 25, 9)).actions}
    assert "deem_withdrawn" in names
    view = do(world, DeemWithdrawn, "clerk.cz", no, sh(2026, 3, 25, 9))
    assert view.state == "withdrawn"
    detail = shown(world, "clerk.cz", no, sh(2026, 3, 25, 10))
    assert all(d.status == "closed" for d in detail.deadlines)
    assert detail.history[-1].reasons == ["申请人逾期未补正，视为撤回申请"]
    # The window's clock was paused the whole time; the applicant's period is nobody's 超期.
    assert overdue_report(world.uow(), now=sh(2026, 3, 25, 10)).rows == ()


def test_the_department_may_deem_its_own_supplement_request_withdrawn(world: World) -> None:
    rt = world.rt
    no = accepted(world, sh(2026, 3, 10, 10))
    do(world, RequestHomeSupplement, "reviewer.rs", no, sh(2026, 3, 10, 11),
       notice_items=["近期免冠照片"])  # fmt: skip
    period = open_deadline(rt, no, Stage.SUPPLEMENT)
    # Once forwarded, both the window and the department are reminded.
    assert sweep(rt.uow(), now=period.warn_at).alerts == {"warning": 1}
    assert all_alerts(rt)[-1].recipients == ["office:GC01", "department:RS320102"]
    assert period.due_at is not None
    view = do(world, DeemWithdrawn, "reviewer.rs", no, period.due_at + timedelta(hours=9))
    assert view.state == "withdrawn"
    detail = shown(world, "reviewer.rs", no, period.due_at + timedelta(hours=10))
    assert detail.hold is None and all(d.status == "closed" for d in detail.deadlines)
    assert detail.excluded[0].ended_at == period.due_at + timedelta(hours=9)


def test_waiting_for_pickup_is_never_anybodys_overdue(world: World) -> None:
    rt = world.rt
    no = accepted(world, sh(2026, 3, 10, 10))
    do(world, Approve, "reviewer.rs", no, sh(2026, 3, 11, 10))
    # The department's delivery ends when it sends the result to the window, in time.
    view = do(world, SendToWindow, "reviewer.rs", no, sh(2026, 3, 11, 15))
    assert (view.state, view.state_label) == ("at_window", "待领取")
    pickup = open_deadline(rt, no, Stage.PICKUP)
    assert pickup.office_id is not None and pickup.owner_side == "either"
    # Weeks later the applicant still has not come: the page counts plain days, no red mark.
    later = sh(2026, 4, 1, 9)
    current = next(d for d in shown(world, "clerk.gc", no, later).deadlines if d.stage == "pickup")
    assert (current.time_left, current.alert) == ("待领取 21 天", None)
    # One reminder, to the window only; no supervisor, no escalation.
    assert sweep(rt.uow(), now=later).alerts == {"overdue": 1}
    (alert,) = all_alerts(rt)
    assert alert.recipients == ["office:GC01"]
    with rt.uow() as uow:
        (message,) = uow.session.scalars(select(OutboxMessage)).all()
        assert "待领取" in message.subject and "不计入任何一方" in message.body
    assert sweep(rt.uow(), now=sh(2026, 5, 1, 9)).recorded == 0
    assert overdue_report(world.uow(), now=later).rows == ()
    do(world, Deliver, "clerk.gc", no, sh(2026, 4, 2, 10), method="window")
    stages = case_accountability(world.uow(), no, now=sh(2026, 4, 2, 11)).stages
    assert [s.stage for s in stages if s.late] == []
