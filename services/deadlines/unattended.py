"""Unattended inboxes (长时间无人登录、无人查看、无人办理).

A unit (receiving office or home department) is unattended when deadlines it owns are running
(cases wait on it) and none of its people has signed in, opened the inbox or acted on a
case for `unattended_days` working days. Its region's supervisors are then alerted, once per
episode: an episode ends with the unit's next sign-in, inbox view or action.

Where the facts come from, without copying them on every request:
- sign-ins: users.last_login_at (set by services.users.sign_in);
- inbox views: unit_activity.last_inbox_view_at, written by `record_inbox_view` (the API
  calls it when a clerk or reviewer opens the inbox; at most one write a minute per unit);
- actions: the audit events, whose `unit` and `role` say who acted (index on unit, role, at).
Each is one index probe per unit, so detection costs the number of units, not of cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tongban.models import Alert, AuditEvent, Case, Deadline, Department, Office, UnitActivity, User
from tongban.workflow.calendar import (
    SECONDS_PER_DAY,
    WorkCalendar,
    local_minute,
    working_seconds_between,
)
from tongban.workflow.deadlines import DeadlineStatus
from tongban.workflow.roles import Role
from tongban.workflow.states import Side

from ..audit.chain import append_event
from ..calendar.store import calendar_for
from ..core.uow import UnitOfWork
from ..users.actors import Actor
from .outbox import enqueue
from .sweeper import Directory

log = structlog.get_logger("tongban.unattended")

VIEW_THROTTLE = timedelta(minutes=1)
_SAMPLE_CASES = 10


def _unit_of(actor: Actor) -> tuple[str, int] | None:
    if actor.role is Role.CLERK and actor.office_id is not None:
        return "office", actor.office_id
    if actor.role is Role.REVIEWER and actor.department_id is not None:
        return "department", actor.department_id
    return None


def _upsert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record_inbox_view(uow: UnitOfWork, actor: Actor, now: datetime) -> None:
    """Note that `actor`'s unit opened its inbox (clerks and reviewers; others are ignored)."""
    unit = _unit_of(actor)
    if unit is None:
        return
    kind, unit_id = unit
    with uow:
        session = uow.session
        insert = _upsert(session)
        stmt = insert(UnitActivity).values(
            unit_kind=kind, unit_id=unit_id, last_inbox_view_at=now, unattended_episodes=0
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[UnitActivity.unit_kind, UnitActivity.unit_id],
            set_={"last_inbox_view_at": stmt.excluded.last_inbox_view_at},
            where=(UnitActivity.last_inbox_view_at.is_(None))
            | (UnitActivity.last_inbox_view_at < now - VIEW_THROTTLE),
        )
        session.execute(stmt)
        uow.commit()


@dataclass(frozen=True)
class UnitState:
    """What is known about one unit's attention at a given instant."""

    kind: str  # office | department
    id: int
    code: str
    name: str
    region_code: str
    oldest_waiting_at: datetime | None  # start of its longest-waiting running deadline
    last_login_at: datetime | None
    last_inbox_view_at: datetime | None
    last_action_at: datetime | None
    episodes: int
    alerted_activity_at: datetime | None
    alerted_at: datetime | None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code}"

    @property
    def last_activity_at(self) -> datetime | None:
        seen = [t for t in (self.last_login_at, self.last_inbox_view_at, self.last_action_at) if t]
        return max(seen) if seen else None

    def idle_from(self) -> datetime | None:
        """Since when cases have waited with nobody attending (None: nothing waits)."""
        if self.oldest_waiting_at is None:
            return None
        last = self.last_activity_at
        return self.oldest_waiting_at if last is None else max(last, self.oldest_waiting_at)

    def already_alerted(self) -> bool:
        return self.alerted_at is not None and self.alerted_activity_at == self.last_activity_at


# Work waiting on the unit itself: not the originals on the road or the applicant's 补正期限,
# which name both units (owner_side "either").
_HELD_BY = {
    "office": Deadline.owner_side == Side.WINDOW,
    "department": Deadline.owner_side == Side.HOME,
}


def _states(kind: str) -> Select[Any]:
    unit: Any = Office if kind == "office" else Department
    deadline_fk = Deadline.office_id if kind == "office" else Deadline.department_id
    user_fk = User.office_id if kind == "office" else User.department_id
    role = Role.CLERK.value if kind == "office" else Role.REVIEWER.value
    oldest = (
        select(func.min(Deadline.resumed_at))
        .where(deadline_fk == unit.id, Deadline.status == DeadlineStatus.RUNNING, _HELD_BY[kind])
        .scalar_subquery()
    )
    login = select(func.max(User.last_login_at)).where(user_fk == unit.id).scalar_subquery()
    action = (
        select(func.max(AuditEvent.at))
        .where(AuditEvent.unit == unit.code, AuditEvent.role == role)
        .scalar_subquery()
    )
    return (
        select(
            unit.id,
            unit.code,
            unit.name,
            unit.region_code,
            oldest,
            login,
            action,
            UnitActivity.last_inbox_view_at,
            UnitActivity.unattended_episodes,
            UnitActivity.alerted_activity_at,
            UnitActivity.alerted_at,
        )
        .outerjoin(
            UnitActivity,
            and_(UnitActivity.unit_kind == kind, UnitActivity.unit_id == unit.id),
        )
        .order_by(unit.id)
    )


def unit_states(session: Session) -> list[UnitState]:
    """Every office and department with its waiting and activity facts (for reports too)."""
    out: list[UnitState] = []
    for kind in ("office", "department"):
        for row in session.execute(_states(kind)):
            out.append(
                UnitState(
                    kind=kind,
                    id=row[0],
                    code=row[1],
                    name=row[2],
                    region_code=row[3],
                    oldest_waiting_at=row[4],
                    last_login_at=row[5],
                    last_inbox_view_at=row[7],
                    last_action_at=row[6],
                    episodes=row[8] or 0,
                    alerted_activity_at=row[9],
                    alerted_at=row[10],
                )
            )
    return out


def is_unattended(state: UnitState, now: datetime, cal: WorkCalendar, days: int) -> bool:
    since = state.idle_from()
    if since is None:
        return False
    return working_seconds_between(cal, since, now).seconds >= days * SECONDS_PER_DAY


@dataclass
class UnattendedReport:
    units: int = 0
    alerted: list[str] = field(default_factory=list)
    busy: int = 0
    errors: int = 0


def detect_unattended(
    uow: UnitOfWork, *, now: datetime, days: int | None = None
) -> UnattendedReport:
    """Alert supervisors about every unattended unit not yet alerted in this episode."""
    threshold = days or uow.rt.settings.unattended_days
    report = UnattendedReport()
    with uow:
        session = uow.session
        cal = calendar_for(uow)
        states = unit_states(session)
        report.units = len(states)
        due = [
            s for s in states if not s.already_alerted() and is_unattended(s, now, cal, threshold)
        ]
        if not due:
            return report
        directory = Directory(session)
        for state in due:
            try:
                with session.begin_nested():
                    done = _alert_unit(uow, state, directory, now, threshold)
            except Exception:
                report.errors += 1
                log.exception("unattended.unit_failed", unit=state.key)
                continue
            if done:
                report.alerted.append(state.key)
            else:
                report.busy += 1
        uow.commit()
    if report.alerted:
        log.info("unattended.alerted", units=report.alerted, now=now.isoformat())
    return report


def _local(at: datetime | None) -> str:
    return local_minute(at, missing="从未")


def _alert_unit(
    uow: UnitOfWork,
    state: UnitState,
    directory: Directory,
    now: datetime,
    days: int,
) -> bool:
    session = uow.session
    postgresql = session.get_bind().dialect.name == "postgresql"
    session.execute(
        _upsert(session)(UnitActivity)
        .values(unit_kind=state.kind, unit_id=state.id, unattended_episodes=0)
        .on_conflict_do_nothing()
    )
    row_q = select(UnitActivity).where(
        UnitActivity.unit_kind == state.kind, UnitActivity.unit_id == state.id
    )
    if postgresql:
        row_q = row_q.with_for_update(skip_locked=True)
    row = session.scalars(row_q.execution_options(populate_existing=True)).one_or_none()
    # Gone (another sweeper holds it) or moved on since we looked: not ours to alert.
    if row is None or row.unattended_episodes != state.episodes:
        return False
    deadline_fk = Deadline.office_id if state.kind == "office" else Deadline.department_id
    waiting = select(Deadline.case_id).where(
        deadline_fk == state.id, Deadline.status == DeadlineStatus.RUNNING, _HELD_BY[state.kind]
    )
    count = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    sample_ids = list(session.scalars(waiting.order_by(Deadline.resumed_at).limit(_SAMPLE_CASES)))
    if not sample_ids:
        return False
    case_q = select(Case).where(Case.id == sample_ids[0])
    if postgresql:
        case_q = case_q.with_for_update(skip_locked=True)
    oldest_case = session.scalars(case_q).one_or_none()
    if oldest_case is None:
        return False  # busy with a user's action: next sweep
    case_nos = list(session.scalars(select(Case.case_no).where(Case.id.in_(sample_ids))))
    episode = state.episodes + 1
    session.execute(
        update(UnitActivity)
        .where(
            UnitActivity.unit_kind == state.kind,
            UnitActivity.unit_id == state.id,
            UnitActivity.unattended_episodes == state.episodes,
        )
        .values(
            unattended_episodes=episode,
            alerted_at=now,
            alerted_activity_at=state.last_activity_at,
        )
        .execution_options(synchronize_session=False)
    )
    # The unit's own region, and every region whose windows received a waiting case.
    received_in = session.scalars(
        select(Office.region_code)
        .join(Case, Case.office_id == Office.id)
        .where(Case.id.in_(waiting))
        .distinct()
    )
    regions = {state.region_code, *received_in}
    supervisors = sorted({s for r in regions for s in directory.supervisors_of(r)})
    recipients = [f"user:{name}" for name in supervisors] or ["admin"]
    unit_label = f"{state.name}（{state.code}）"
    subject = f"【无人办理】{unit_label} 已 {days} 个工作日无人登录、查看或办理，{count} 件待办"
    body = "\n".join(
        [
            f"单位：{unit_label}",
            f"待办：{count} 件，最早自 {_local(state.oldest_waiting_at)} 起等待"
            f"（{oldest_case.case_no}）",
            f"最近登录：{_local(state.last_login_at)}",
            f"最近查看待办：{_local(state.last_inbox_view_at)}",
            f"最近办理：{_local(state.last_action_at)}",
            "部分待办：" + "、".join(case_nos),
        ]
    )
    details = {
        "waiting": count,
        "cases": case_nos,
        "days": days,
        "last_login_at": state.last_login_at.isoformat() if state.last_login_at else None,
        "last_inbox_view_at": (
            state.last_inbox_view_at.isoformat() if state.last_inbox_view_at else None
        ),
        "last_action_at": state.last_action_at.isoformat() if state.last_action_at else None,
    }
    alert = Alert(
        kind="unattended",
        level=episode,
        case_id=oldest_case.id,
        office_id=state.id if state.kind == "office" else None,
        department_id=state.id if state.kind == "department" else None,
        unit_key=state.key,
        recipients=recipients,
        details=details,
        created_at=now,
    )
    session.add(alert)
    append_event(
        session,
        uow.rt.key,
        oldest_case,
        None,
        action="unattended_alert",
        at=now,
        from_state=oldest_case.state,
        to_state=oldest_case.state,
        reasons=[subject],
        payload={"unit": state.key, "episode": episode, "recipients": recipients, **details},
    )
    session.flush()
    enqueue(
        session,
        channel=uow.rt.settings.notify_channel,
        recipients=recipients,
        subject=subject,
        body=body,
        now=now,
        alert_id=alert.id,
    )
    return True
