"""A small world to act in: catalog, guides, the demo organisation, and helpers to drive cases."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, select, text

from tongban.models import AuditEvent, Case, CaseFile, CaseMaterial, Deadline
from tongban.services.cases.act import act
from tongban.services.cases.receive import receive
from tongban.services.cases.views import CaseView
from tongban.services.catalog.items import load_catalog
from tongban.services.core.config import Settings
from tongban.services.core.runtime import Runtime, open_runtime
from tongban.services.core.uow import UnitOfWork
from tongban.services.demo import DEMO_PASSWORD, USERS, load_org, person_id
from tongban.services.files.materials import upload
from tongban.services.guides.store import load_guides
from tongban.services.users.accounts import create_user
from tongban.services.users.actors import Actor, load_actor
from tongban.workflow.commands import (
    Application,
    CaseCommand,
    Forward,
    MaterialIn,
    PassFormalReview,
    VerifyIdentity,
)
from tongban.workflow.delivery import DeliveryMethod
from tongban.workflow.identity import ApplicantKind

from .conftest import PG_URL, T0, pg_schema_url
from .scans import pdf_bytes

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

    def uow(self) -> UnitOfWork:
        return self.rt.uow()

    def receive(
        self, application: Application, clerk: str = "clerk.cz", at: datetime | None = None
    ) -> str:
        """Receive `application` at `clerk`'s window (an hour on, unless `at` is given)."""
        when = at or self.tick()
        return receive(self.uow(), application, actor=self.actors[clerk], now=when).case_no

    def act(
        self,
        command: type[CaseCommand],
        who: str,
        case_no: str,
        at: datetime | None = None,
        **fields: Any,
    ) -> CaseView:
        """`who` takes the action of `command` on `case_no` (an hour on, unless `at` is given).

        A forward sends the scans: when the case has no file yet, the clerk first uploads a
        PDF of each material handed in (at the same instant), as at a real window. A test of
        the forward rule itself uploads what it means to, or declares `paper_only`."""
        when = at or self.tick()
        if command is Forward and "paper_only" not in fields and not self.has_scans(case_no):
            self.scan(case_no, who, at=when)
        return act(self.uow(), make(command, case_no, **fields), actor=self.actors[who], now=when)

    def has_scans(self, case_no: str) -> bool:
        with self.uow() as uow:
            found = uow.session.scalar(
                select(CaseFile.id)
                .join(Case, Case.id == CaseFile.case_id)
                .where(Case.case_no == case_no)
                .limit(1)
            )
        return found is not None

    def scan(self, case_no: str, clerk: str = "clerk.cz", at: datetime | None = None) -> None:
        """The clerk uploads a one-page PDF scan of every material handed in so far."""
        with self.uow() as uow:
            codes = uow.session.scalars(
                select(CaseMaterial.code)
                .join(Case, Case.id == CaseMaterial.case_id)
                .where(Case.case_no == case_no)
                .order_by(CaseMaterial.id)
            ).all()
        for code in codes:
            upload(
                self.uow(),
                case_no=case_no,
                slot=code,
                filename=f"{code}.pdf",
                stream=io.BytesIO(pdf_bytes(f"{case_no} {code}")),
                actor=self.actors[clerk],
                now=at or self.clock,
            )

    def forward(self, case_no: str, clerk: str = "clerk.cz") -> None:
        """Formal review, identity check (the applicant in person) and forward: from
        here on the home department sees the case."""
        with self.uow() as uow:
            number = uow.session.scalars(
                select(Case.applicant_id_number).where(Case.case_no == case_no)
            ).one()
        self.act(PassFormalReview, clerk, case_no)
        self.act(VerifyIdentity, clerk, case_no, document_number=number)
        self.act(Forward, clerk, case_no)


def make(command: type[CaseCommand], case_no: str, **fields: Any) -> CaseCommand:
    """A command as the API would make it: lists become tuples, a method its enum."""
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    if "method" in given:
        given["method"] = DeliveryMethod(given["method"])
    return command(case_no=case_no, **given)


def build_world(rt: Runtime) -> World:
    load_catalog(rt.uow())
    load_guides(rt.uow(), now=T0)
    load_org(rt.uow())
    actors = {name: load_actor(rt.uow(), name) for name, *_ in USERS}
    return World(rt, actors)


def diploma_application(seq: str = "123") -> Application:
    return Application(
        item_code=ORIGINALS_ITEM,
        department_code="GZ330106",
        applicant_kind=ApplicantKind.PERSON,
        applicant_name="张伟",
        applicant_id_number=person_id("341702", "19900315", seq),
        delivery_preference=DeliveryMethod.MAIL,
        delivery_address="安徽省池州市贵池区长江中路1号",
        materials=(
            MaterialIn("id_card"),
            MaterialIn("diploma"),
            MaterialIn("application_form"),
        ),
    )


def card_application(seq: str = "456") -> Application:
    return Application(
        item_code=NO_ORIGINALS_ITEM,
        department_code="RS320102",
        applicant_kind=ApplicantKind.PERSON,
        applicant_name="刘洋",
        applicant_id_number=person_id("320102", "19880720", seq),
        delivery_preference=DeliveryMethod.WINDOW,
        materials=(
            MaterialIn("id_card"),
            MaterialIn("photo"),
            MaterialIn("application_form"),
        ),
    )


# --- helpers for fixtures wider than one test, and for "nothing was written" checks -------


@contextmanager
def fresh_runtime(backend: str, folder: Path) -> Iterator[Runtime]:
    """A runtime on a new database ("sqlite" file in `folder`, or a new PostgreSQL schema),
    for module-scoped fixtures; the function-scoped `rt` of conftest does the same per test."""
    settings = Settings(
        database_url=f"sqlite:///{folder / 'tongban.db'}",
        audit_key=secrets.token_hex(32),
        session_secret=secrets.token_hex(32),
        audit_key_file=folder / "audit.key",
        files_dir=folder / "files",
    )
    schema = None
    admin = None
    if backend == "postgres":
        schema = f"tb_{secrets.token_hex(6)}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        settings = settings.model_copy(update={"database_url": pg_schema_url(schema)})
    runtime = open_runtime(settings, init=True)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


Columns = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class CaseSnapshot:
    """Everything an action may write about one case: the row, materials, events, clocks."""

    case: Columns
    materials: tuple[Columns, ...]
    events: tuple[Columns, ...]
    deadlines: tuple[Columns, ...]

    def field(self, name: str) -> Any:
        return dict(self.case)[name]


def _columns(row: object) -> Columns:
    """Every mapped column of a row, as (attribute, value) pairs in mapper order."""
    return tuple((attr.key, getattr(row, attr.key)) for attr in inspect(row).mapper.column_attrs)


def snapshot(rt: Runtime, case_no: str) -> CaseSnapshot:
    with rt.uow() as uow:
        s = uow.session
        case = s.scalars(select(Case).where(Case.case_no == case_no)).one()
        return CaseSnapshot(
            case=_columns(case),
            materials=tuple(
                _columns(m)
                for m in s.scalars(
                    select(CaseMaterial)
                    .where(CaseMaterial.case_id == case.id)
                    .order_by(CaseMaterial.id)
                )
            ),
            events=tuple(
                _columns(e)
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
                )
            ),
            deadlines=tuple(
                _columns(d)
                for d in s.scalars(
                    select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)
                )
            ),
        )


def add_supervisor(rt: Runtime, username: str, region_code: str) -> Actor:
    return create_user(
        rt.uow(),
        username=username,
        display_name=f"督查（{region_code}）",
        role="supervisor",
        password=DEMO_PASSWORD,
        region_code=region_code,
    )
