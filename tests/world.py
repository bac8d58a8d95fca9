"""A small world to act in: catalog, guides, the demo organisation, and helpers to drive cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tongban.services import cases as c
from tongban.services.actors import Actor, load_actor
from tongban.services.catalog import load_catalog
from tongban.services.demo import USERS, load_org, person_id
from tongban.services.guides import load_guides
from tongban.services.runtime import Runtime

from .conftest import T0

ORIGINALS_ITEM = "1-01"  # 学历公证: the diploma original goes to the notary office
NO_ORIGINALS_ITEM = "2-21"  # 社会保障卡申领: identity checked in person, nothing mailed


@dataclass
class World:
    rt: Runtime
    actors: dict[str, Actor]
    clock: datetime = T0

    def tick(self, hours: float = 1) -> datetime:
        self.clock += timedelta(hours=hours)
        return self.clock

    def uow(self) -> c.UnitOfWork:
        return self.rt.uow()


def build_world(rt: Runtime) -> World:
    load_catalog(rt.uow())
    load_guides(rt.uow(), now=T0)
    load_org(rt)
    with rt.uow() as uow:
        actors = {name: load_actor(uow.session, name) for name, *_ in USERS}
    return World(rt, actors)


def diploma_application(seq: str = "123") -> c.Application:
    return c.Application(
        item_code=ORIGINALS_ITEM,
        department_code="GZ330106",
        applicant_kind="person",
        applicant_name="张伟",
        applicant_id_number=person_id("341702", "19900315", seq),
        delivery_preference="mail",
        delivery_address="安徽省池州市贵池区长江中路1号",
        materials=(
            c.MaterialIn("id_card"),
            c.MaterialIn("diploma"),
            c.MaterialIn("application_form"),
        ),
    )


def card_application(seq: str = "456") -> c.Application:
    return c.Application(
        item_code=NO_ORIGINALS_ITEM,
        department_code="RS320102",
        applicant_kind="person",
        applicant_name="刘洋",
        applicant_id_number=person_id("320102", "19880720", seq),
        delivery_preference="window",
        materials=(
            c.MaterialIn("id_card"),
            c.MaterialIn("photo"),
            c.MaterialIn("application_form"),
        ),
    )
