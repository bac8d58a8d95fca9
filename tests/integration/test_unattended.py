"""Unattended inboxes (长时间无人登录、无人查看、无人办理): detected once per episode; a
sign-in, an inbox view or an action by the unit ends the episode."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tongban.models import UnitActivity
from tongban.services.core.runtime import Runtime
from tongban.services.deadlines.sweeper import sweep
from tongban.services.deadlines.unattended import (
    detect_unattended,
    record_inbox_view,
    unit_states,
)
from tongban.services.demo import DEMO_PASSWORD
from tongban.services.users.accounts import sign_in
from tongban.workflow.commands import Forward, PassFormalReview, RequestSupplement, VerifyIdentity

from ..conftest import T0
from ..deadline_support import all_alerts, do, receive_at, sh, system_events
from ..world import World, build_world, card_application, diploma_application


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def detect(w: World, *at: int) -> list[str]:
    return detect_unattended(w.rt.uow(), now=sh(*at), days=3).alerted


def test_unit_with_waiting_cases_and_nobody_around_is_reported_once_per_episode(
    world: World,
) -> None:
    rt = world.rt
    app = diploma_application()
    no = receive_at(world, app, T0)  # CZ01, Tue 2026-03-10 09:00
    no2 = receive_at(world, diploma_application("124"), T0)
    # The receipt was the unit's last action; three working days later nobody has been back.
    assert detect(world, 2026, 3, 13, 8, 59) == []
    assert detect(world, 2026, 3, 13, 9) == ["office:CZ01"]
    (alert,) = [a for a in all_alerts(rt) if a.kind == "unattended"]
    assert (alert.unit_key, alert.level) == ("office:CZ01", 1)
    # Supervisors of Chizhou (341700) and Anhui (340000) cover the office's region.
    assert alert.recipients == ["user:supervisor.ah", "user:supervisor.cz"]
    assert alert.details["waiting"] == 2 and sorted(alert.details["cases"]) == [no, no2]
    assert [e.action for e in system_events(rt, no)] == ["unattended_alert"]
    # Same episode: no second alert, however long it lasts.
    assert detect(world, 2026, 3, 16, 9) == []
    assert detect(world, 2026, 3, 30, 9) == []

    # Opening the inbox ends the episode; three idle working days later, a new one.
    record_inbox_view(rt.uow(), world.actors["clerk.cz"], sh(2026, 3, 30, 10))
    assert detect(world, 2026, 4, 1, 10) == []
    assert detect(world, 2026, 4, 2, 10) == ["office:CZ01"]

    # A sign-in ends it too.
    sign_in(rt.uow(), username="clerk.gc", password=DEMO_PASSWORD, now=sh(2026, 4, 3, 10))
    sign_in(rt.uow(), username="clerk.cz", password=DEMO_PASSWORD, now=sh(2026, 4, 3, 10))
    assert detect(world, 2026, 4, 8, 9) == []  # Qingming Apr 4-6: Fri 14h + Tue + Wed 9h
    assert detect(world, 2026, 4, 9, 10) == ["office:CZ01"]

    # So does an action on a case.
    do(world, PassFormalReview, "clerk.cz", no, sh(2026, 4, 10, 10))
    assert detect(world, 2026, 4, 14, 10) == []
    # A case paused for a supplement waits on the applicant, not on the unit; a forwarded one
    # waits on the home department.
    do(world, RequestSupplement, "clerk.cz", no2, sh(2026, 4, 14, 11), notice_items=["x"])
    do(world, VerifyIdentity, "clerk.cz", no, sh(2026, 4, 14, 12),
       document_number=app.applicant_id_number)  # fmt: skip
    do(world, Forward, "clerk.cz", no, sh(2026, 4, 14, 13))
    assert detect(world, 2026, 5, 29, 10) == ["department:GZ330106"]
    assert [a.unit_key for a in all_alerts(rt) if a.kind == "unattended"] == [
        "office:CZ01",
        "office:CZ01",
        "office:CZ01",
        "department:GZ330106",
    ]
    with rt.uow() as uow:
        row = uow.session.scalars(
            select(UnitActivity).where(UnitActivity.unit_kind == "office")
        ).one()
        assert row.unattended_episodes == 3
        assert row.last_inbox_view_at == sh(2026, 3, 30, 10)


def test_alerts_by_the_system_are_not_attention(world: World) -> None:
    rt = world.rt
    app = card_application()
    no = receive_at(world, app, T0, clerk="clerk.gc")
    do(world, PassFormalReview, "clerk.gc", no, T0)
    do(world, VerifyIdentity, "clerk.gc", no, T0, document_number=app.applicant_id_number)
    do(world, Forward, "clerk.gc", no, T0)  # now waiting on RS320102 (Nanjing)
    sweep(rt.uow(), now=sh(2026, 3, 13, 10))  # warning and overdue: system events on the case
    assert detect(world, 2026, 3, 13, 9) == ["department:RS320102"]
    (alert,) = [a for a in all_alerts(rt) if a.kind == "unattended"]
    # Nobody supervises Nanjing in the demo; the waiting case was received in 池州 (GC01),
    # whose supervisors hear that the department holding it is unattended.
    assert alert.recipients == ["user:supervisor.ah", "user:supervisor.cz"]
    with rt.uow() as uow:
        states = {s.key: s for s in unit_states(uow.session)}
    gc = states["office:GC01"]
    assert gc.oldest_waiting_at is None and gc.last_action_at is not None


def test_inbox_views_are_recorded_for_window_and_home_units_only(world: World) -> None:
    rt = world.rt
    record_inbox_view(rt.uow(), world.actors["reviewer.gz"], sh(2026, 3, 10, 10))
    record_inbox_view(
        rt.uow(),
        world.actors["reviewer.gz"],
        sh(
            2026,
            3,
            10,
            10,
            0,
        ),
    )
    record_inbox_view(rt.uow(), world.actors["supervisor.cz"], sh(2026, 3, 10, 10))
    # Within a minute a second view writes nothing; later ones move the time.
    record_inbox_view(rt.uow(), world.actors["reviewer.gz"], sh(2026, 3, 10, 10, 0))
    record_inbox_view(rt.uow(), world.actors["reviewer.gz"], sh(2026, 3, 10, 11))
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(UnitActivity.unit_kind, UnitActivity.last_inbox_view_at)
        ).all()
    assert rows == [("department", sh(2026, 3, 10, 11))]
