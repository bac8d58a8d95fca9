"""Helpers shared by the deadline tests: Shanghai instants, driving cases at given times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tongban.models import Alert, AuditEvent, Case, Deadline
from tongban.services import cases as c
from tongban.services.calendars import calendar_for
from tongban.services.runtime import Runtime
from tongban.workflow.calendar import SHANGHAI, WorkCalendar

from .world import World


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def receive_at(w: World, app: c.Application, at: datetime, clerk: str = "clerk.cz") -> str:
    return c.register_case(
        w.uow(), w.rt.key, actor=w.actors[clerk], application=app, now=at
    ).case_no


def do(w: World, fn: object, who: str, case_no: str, at: datetime, **kw: object) -> c.CaseView:
    return fn(w.uow(), w.rt.key, actor=w.actors[who], case_no=case_no, now=at, **kw)  # type: ignore[operator]


def clocks_of(rt: Runtime, case_no: str) -> list[Deadline]:
    with rt.uow() as uow:
        case_id = uow.session.scalars(select(Case.id).where(Case.case_no == case_no)).one()
        rows = list(
            uow.session.scalars(
                select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)
            )
        )
        uow.session.expunge_all()  # keep the loaded values past the unit of work's rollback
        return rows


def running_clock(rt: Runtime, case_no: str) -> Deadline:
    (clock,) = [d for d in clocks_of(rt, case_no) if d.status != "closed"]
    return clock


def all_alerts(rt: Runtime) -> list[Alert]:
    with rt.uow() as uow:
        rows = list(uow.session.scalars(select(Alert).order_by(Alert.id)))
        uow.session.expunge_all()
        return rows


def system_events(rt: Runtime, case_no: str | None = None) -> list[AuditEvent]:
    with rt.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.actor_id.is_(None)).order_by(AuditEvent.id)
        if case_no is not None:
            q = q.join(Case, Case.id == AuditEvent.case_id).where(Case.case_no == case_no)
        rows = list(uow.session.scalars(q))
        uow.session.expunge_all()
        return rows


def calendar_of(rt: Runtime) -> WorkCalendar:
    with rt.uow() as uow:
        return calendar_for(uow.session)
