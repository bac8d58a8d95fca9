"""Routing: a case goes only to a department that declares it handles the item, at
registration and at 转办; the admin keeps the declarations with `tongban departments`."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tongban.api.cli.main import app as cli
from tongban.models import AuditEvent, Case
from tongban.services.cases.queries import registration_choices
from tongban.services.cases.receive import receive
from tongban.services.core.errors import Conflict, InvalidInput, NotFound
from tongban.services.core.runtime import Runtime
from tongban.services.departments.registry import (
    add_department,
    declare_items,
    list_departments,
)
from tongban.workflow.commands import MaterialIn, Transfer
from tongban.workflow.delivery import DeliveryMethod

from ..world import World, build_world, card_application, diploma_application


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def test_a_department_that_does_not_handle_the_item_is_refused(world: World) -> None:
    app = dataclasses.replace(diploma_application(), department_code="RS320102")  # 社保, not 公证
    with pytest.raises(InvalidInput) as err:
        receive(world.uow(), app, actor=world.actors["clerk.cz"], now=world.tick())
    assert (err.value.code, err.value.field) == ("routing.not_handled", "department_code")
    assert "不办理事项「学历公证」" in err.value.message
    # Once declared, the same application is received.
    declare_items(world.uow(), "RS320102", ["1-01"])
    view = receive(world.uow(), app, actor=world.actors["clerk.cz"], now=world.tick())
    assert view.state == "received"


def test_registration_offers_only_the_departments_handling_each_item(world: World) -> None:
    choices = {i.code: i for i in registration_choices(world.uow(), now=world.tick()).items}
    assert [d.code for d in choices["2-21"].departments] == ["RS320102", "RS341700"]
    assert [d.province for d in choices["2-21"].departments] == ["江苏省", "安徽省"]
    assert [d.code for d in choices["1-01"].departments] == ["GZ330106"]
    assert choices["1-02"].departments == ()  # nobody declared it in the demo


def test_a_transfer_goes_only_to_a_department_handling_the_item(world: World) -> None:
    no = world.receive(card_application(), "clerk.gc")  # 2-21 to RS320102
    world.forward(no, "clerk.gc")
    with pytest.raises(InvalidInput) as err:  # the notary office does not handle 社保卡
        world.act(Transfer, "reviewer.rs", no, reasons=["非本部门"], department_code="GZ330106")
    assert (err.value.code, err.value.field) == ("routing.not_handled", "department_code")
    view = world.act(
        Transfer, "reviewer.rs", no, reasons=["属池州管辖"], department_code="RS341700"
    )
    assert view.state == "forwarded"


def test_departments_are_added_and_declare_items(world: World) -> None:
    view = add_department(world.uow(), code="rs330100", name="杭州市人社局", region_code="330100")
    assert (view.code, view.province, view.items) == ("RS330100", "浙江省", ())
    with pytest.raises(Conflict):
        add_department(world.uow(), code="RS330100", name="重复", region_code="330100")
    with pytest.raises(InvalidInput) as err:
        add_department(world.uow(), code="X1", name="某局", region_code="990000")
    assert err.value.field == "region_code"
    with pytest.raises(InvalidInput) as err:
        declare_items(world.uow(), "RS330100", ["2-21", "9-99"])
    assert "9-99" in err.value.message
    with pytest.raises(NotFound):
        declare_items(world.uow(), "NOPE", ["2-21"])
    assert declare_items(world.uow(), "RS330100", ["2-21", "1-02"]).items == ("1-02", "2-21")
    assert declare_items(world.uow(), "RS330100", ["1-02"], remove=True).items == ("2-21",)
    handling = [d.code for d in list_departments(world.uow(), item_code="2-21")]
    assert handling == ["RS320102", "RS330100", "RS341700"]  # by region code


def test_the_departments_command(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tongban.api.cli.common.configure_logging", lambda **_: None)
    monkeypatch.setenv("TONGBAN_DATABASE_URL", world.rt.settings.database_url)
    monkeypatch.setenv("TONGBAN_AUDIT_KEY", world.rt.settings.audit_key or "")
    runner = CliRunner()
    added = runner.invoke(cli, ["departments", "add", "GA320102", "南京市玄武区公安分局", "320102"])
    assert added.exit_code == 0, added.output
    assert "GA320102" in added.stdout and "尚未声明办理事项" in added.stdout
    declared = runner.invoke(cli, ["departments", "items", "GA320102", "1-02", "1-03"])
    assert declared.exit_code == 0 and "1-02、1-03" in declared.stdout
    listed = runner.invoke(cli, ["departments", "list", "--item", "1-03"])
    assert listed.exit_code == 0 and listed.stdout.splitlines()[0].startswith("GA320102\t江苏省")
    wrong = runner.invoke(cli, ["departments", "items", "GA320102", "0-00"])
    assert wrong.exit_code == 2 and "0-00" in wrong.stderr


@pytest.mark.parametrize(
    ("item", "fragment"),
    [("1-21", "本市不承接"), ("1-49", "本市不承接"), ("3-04", "尚未上线")],
)
def test_items_the_city_does_not_receive_are_refused(
    world: World, item: str, fragment: str
) -> None:
    declare_items(world.uow(), "GZ330106", [item])
    app = dataclasses.replace(diploma_application(), item_code=item, materials=())
    with pytest.raises(InvalidInput) as err:
        receive(world.uow(), app, actor=world.actors["clerk.cz"], now=world.tick())
    assert (err.value.code, err.value.field) == ("item.not_receivable", "item_code")
    assert fragment in err.value.message
    offered = {i.code for i in registration_choices(world.uow(), now=world.tick()).items}
    assert item not in offered and "1-01" in offered


def test_a_default_guide_needs_the_clerks_confirmation_and_the_audit_keeps_it(
    world: World,
) -> None:
    declare_items(world.uow(), "GZ330106", ["1-02"])
    app = dataclasses.replace(
        diploma_application(), item_code="1-02",
        materials=(MaterialIn("identity_document"), MaterialIn("application_form")),
    )  # fmt: skip
    clerk = world.actors["clerk.cz"]
    with pytest.raises(InvalidInput) as err:
        receive(world.uow(), app, actor=clerk, now=world.tick())
    assert (err.value.code, err.value.field) == (
        "guide.default_unconfirmed",
        "confirm_default_guide",
    )
    assert "尚未经牵头单位确认" in err.value.message
    confirmed = dataclasses.replace(app, confirm_default_guide=True)
    no = receive(world.uow(), confirmed, actor=clerk, now=world.tick()).case_no
    with world.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.case_no == no)).one()
        (event,) = uow.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))
        assert event.payload["default_guide_confirmed"] is True
    # A deployment may forbid receiving under default guides at all.
    strict = dataclasses.replace(
        world.rt, settings=world.rt.settings.model_copy(update={"allow_default_guides": False})
    )
    with pytest.raises(InvalidInput) as err:
        receive(strict.uow(), confirmed, actor=clerk, now=world.tick())
    assert err.value.code == "guide.default_forbidden"


@pytest.mark.parametrize(("item", "how"), [("3-03", "就地办理"), ("2-14", "全程网办")])
def test_in_person_and_instant_services_are_no_proxy_cases(
    world: World, item: str, how: str
) -> None:
    """结婚登记 needs both parties in person on the spot; a 参保证明 prints at once online:
    neither is a 20-day case a window receives and forwards."""
    declare_items(world.uow(), "GZ330106", [item])
    app = dataclasses.replace(
        diploma_application(), item_code=item, confirm_default_guide=True,
        delivery_preference=DeliveryMethod.WINDOW,
        materials=(MaterialIn("identity_document"), MaterialIn("application_form")),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        receive(world.uow(), app, actor=world.actors["clerk.cz"], now=world.tick())
    assert (err.value.code, err.value.field) == ("item.not_by_proxy", "item_code")
    assert how in err.value.message
    offered = {i.code for i in registration_choices(world.uow(), now=world.tick()).items}
    assert item not in offered
