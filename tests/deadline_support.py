"""Helpers shared by the deadline tests: Shanghai instants, driving cases at given times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tongban.models import Alert, AuditEvent, Case, Deadline
from tongban.services.calendar.store import calendar_for
from tongban.services.cases.views import CaseView
from tongban.services.core.runtime import Runtime
from tongban.workflow.calendar import SHANGHAI, WorkCalendar
from tongban.workflow.commands import Application, CaseCommand
from tongban.workflow.stages import UNCHARGED, Stage

from .world import World


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def receive_at(w: World, app: Application, at: datetime, clerk: str = "clerk.cz") -> str:
    return w.receive(app, clerk, at=at)


def do(
    w: World, command: type[CaseCommand], who: str, case_no: str, at: datetime, **kw: object
) -> CaseView:
    return w.act(command, who, case_no, at=at, **kw)


def deadlines_of(rt: Runtime, case_no: str) -> list[Deadline]:
    with rt.uow() as uow:
        case_id = uow.session.scalars(select(Case.id).where(Case.case_no == case_no)).one()
        rows = list(
            uow.session.scalars(
                select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)
            )
        )
        uow.session.expunge_all()  # keep the loaded values past the unit of work's rollback
        return rows


def open_deadline(rt: Runtime, case_no: str, stage: Stage | None = None) -> Deadline:
    """The case's one open deadline of `stage`, or of a stage somebody is charged with."""
    (deadline,) = [
        d
        for d in deadlines_of(rt, case_no)
        if d.status != "closed" and (d.stage == stage if stage else d.stage not in UNCHARGED)
    ]
    return deadline


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
        return calendar_for(uow)
