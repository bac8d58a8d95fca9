"""The deadline sweeper: records warning, overdue and escalation alerts exactly once.

Each deadline carries `alert_level` (alerts sent) and `next_alert_at` (when to look again,
NULL unless running). A sweep reads only `next_alert_at <= now` through a partial index, in
batches of one transaction each, so its cost follows the deadlines coming due, not the open
ones. Exactly once across any number of sweepers:

- PostgreSQL: the batch is claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent
  sweepers take disjoint rows; the case rows are locked the same way (a case busy with a
  user's action is left for the next sweep rather than waited on, so no deadlock).
- SQLite: every transaction starts with BEGIN IMMEDIATE (models.db), one writer at a time.
- On both, the level moves with a conditional UPDATE (`WHERE alert_level = <seen>`), and
  the unique constraint on alerts (deadline_id, kind, level) is the last line of defence.

After downtime, the first sweep sends each deadline one alert: the most severe one owed (an
overdue deadline never warned gets the overdue alert; a deadline that missed several escalation
periods gets one escalation at the level reached), never a burst of stale ones.

Each alert is an audit event on its case (actor "system") and one outbox message per
recipient, in the same transaction. A deadline whose processing fails is logged and left due;
the rest of the batch goes on.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import ColumnElement, Table, bindparam, select, tuple_, update
from sqlalchemy.orm import Session

from tongban.models import Alert, AuditEvent, Case, Deadline, Department, Office, User
from tongban.workflow.calendar import SECONDS_PER_DAY, WorkCalendar, local_due
from tongban.workflow.deadlines import DeadlineStatus
from tongban.workflow.roles import Role
from tongban.workflow.stages import STAGE_LABELS, UNCHARGED, Stage
from tongban.workflow.states import SIDE_LABELS

from ..audit.chain import append_event
from ..audit.keys import AuditKey
from ..calendar.store import calendar_for, reconcile_imports
from ..core.config import Settings
from ..core.uow import UnitOfWork
from ..users.scope import region_prefix
from .alerts import (
    LEVEL_OVERDUE,
    LEVEL_WARNED,
    next_alert_after,
    owed_level,
    used_seconds_at,
)
from .outbox import outbox_rows, write_outbox

log = structlog.get_logger("tongban.sweeper")

KIND_LABELS = {
    "warning": "预警",
    "overdue": "超期",
    "escalation": "督办",
    "unattended": "无人办理",
}


@dataclass
class SweepReport:
    claimed: int = 0  # deadlines looked at
    alerts: Counter[str] = field(default_factory=Counter)  # recorded, by kind
    rescheduled: int = 0  # looked at, nothing owed (e.g. after a pause or a calendar import)
    busy: int = 0  # case locked by someone else: left for the next sweep
    lost: int = 0  # another sweeper got there first
    errors: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def recorded(self) -> int:
        return sum(self.alerts.values())

    def summary(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "alerts": dict(self.alerts),
            "rescheduled": self.rescheduled,
            "busy": self.busy,
            "lost": self.lost,
            "errors": self.errors,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class _Unit:
    kind: str  # office | department
    id: int
    code: str
    name: str
    region_code: str

    @property
    def address(self) -> str:
        return f"{self.kind}:{self.code}"


class Directory:
    """Units and supervisors, read once per sweep (small tables)."""

    def __init__(self, session: Session) -> None:
        self.offices = {
            o.id: _Unit("office", o.id, o.code, o.name, o.region_code)
            for o in session.scalars(select(Office))
        }
        self.departments = {
            d.id: _Unit("department", d.id, d.code, d.name, d.region_code)
            for d in session.scalars(select(Department))
        }
        self.supervisors = [
            (region_prefix(region), username)
            for username, region in session.execute(
                select(User.username, User.region_code).where(
                    User.role == Role.SUPERVISOR.value, User.active.is_(True)
                )
            )
            if region
        ]
        self._usernames: dict[int, str | None] = {}
        self._session = session

    def owner(self, deadline: Deadline) -> _Unit | None:
        if deadline.office_id is not None:
            return self.offices.get(deadline.office_id)
        if deadline.department_id is not None:
            return self.departments.get(deadline.department_id)
        return None

    def supervisors_of(self, region_code: str) -> list[str]:
        return sorted({user for prefix, user in self.supervisors if region_code.startswith(prefix)})

    def username(self, session: Session, user_id: int) -> str | None:
        if user_id not in self._usernames:
            self._usernames[user_id] = session.scalar(
                select(User.username).where(User.id == user_id)
            )
        return self._usernames[user_id]


@dataclass(frozen=True)
class _Plan:
    old_level: int
    new_level: int
    next_at: datetime | None
    kind: str | None = None  # None: nothing to send, only move next_alert_at
    level_no: int = 0
    recipients: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class _LostClaim(Exception):
    pass


def _kind_for(current: int, owed: int) -> tuple[str, int]:
    if owed == LEVEL_WARNED:
        return "warning", 0
    if current < LEVEL_OVERDUE:
        return "overdue", 0  # the first red notice is the overdue one, even when caught up late
    return "escalation", owed - LEVEL_OVERDUE


def _days(seconds: int) -> int:
    # Periods count in whole working days; a started day counts.
    return -(-seconds // SECONDS_PER_DAY)


def _plan(
    deadline: Deadline,
    case: _CaseRef,
    directory: Directory,
    session: Session,
    cal: WorkCalendar,
    now: datetime,
    escalation_seconds: int,
) -> _Plan:
    if deadline.stage in UNCHARGED:
        return _watch_plan(deadline, case, directory, session, cal, now)
    current = deadline.alert_level
    owed = owed_level(deadline, now, cal, escalation_seconds)
    if owed <= current:
        return _Plan(current, current, next_alert_after(deadline, current, cal, escalation_seconds))
    kind, level_no = _kind_for(current, owed)
    unit = directory.owner(deadline)
    recipients: list[str] = []
    if unit is not None:
        recipients.append(unit.address)
    username = directory.username(session, deadline.user_id) if deadline.user_id else None
    if username:
        recipients.append(f"user:{username}")
    case_no = case.case_no
    if kind != "warning":
        # The holder's region, and the region that received the case: a 池州 supervisor
        # must learn that a Nanjing department is late on a 池州 case.
        received = directory.offices.get(case.office_id)
        regions = {u.region_code for u in (unit, received) if u is not None}
        supervisors = sorted({s for r in regions for s in directory.supervisors_of(r)})
        recipients.extend(f"user:{name}" for name in supervisors)
        if not supervisors:
            recipients.append("admin")  # nobody supervises this region: the deployment must know
    stage_label = STAGE_LABELS[deadline.stage]
    used = used_seconds_at(deadline, now, cal)
    over = max(used - deadline.limit_seconds, 0)
    label = KIND_LABELS[kind]
    if kind == "warning":
        headline = f"{stage_label}环节时限将到，请尽快办理"
    elif kind == "overdue":
        headline = f"{stage_label}环节已超过办理时限"
    else:
        headline = f"{stage_label}环节超期未办（第 {level_no} 次督办）"
    holder = SIDE_LABELS[deadline.owner_side]
    if unit is not None:
        holder += f" {unit.name}（{unit.code}）"
    lines = [
        f"办件编号：{case_no}",
        f"环节：{stage_label}",
        f"责任方：{holder}" + (f"，承办人 {username}" if username else ""),
        f"办理时限：{_days(deadline.limit_seconds)} 个工作日，"
        f"到期时间 {local_due(deadline.due_at)}",
        f"已用：{_days(used)} 个工作日" + (f"，已超期 {_days(over)} 个工作日" if over else ""),
    ]
    if deadline.uncertain:
        lines.append("注意：到期时间按未确认的日历推算（该年度节假日安排尚未导入）。")
    return _Plan(
        old_level=current,
        new_level=owed,
        next_at=next_alert_after(deadline, owed, cal, escalation_seconds),
        kind=kind,
        level_no=level_no,
        recipients=tuple(recipients),
        subject=f"【{label}】{case_no} {headline}",
        body="\n".join(lines),
        details={
            "stage": deadline.stage,
            "used_seconds": used,
            "overdue_seconds": over,
            "uncertain": deadline.uncertain,
            "skipped_levels": owed - current - 1,
        },
    )


def _watch_plan(
    deadline: Deadline,
    case: _CaseRef,
    directory: Directory,
    session: Session,
    cal: WorkCalendar,
    now: datetime,
) -> _Plan:
    """A period nobody is charged with (原件在途, 申请人补正期限): both units that can see the
    case hear of it, no supervisor, no escalation. Originals are news only once late; the
    applicant's period is worth a reminder before it runs out, so the window can call."""
    current = deadline.alert_level
    owed = owed_level(deadline, now, cal, 0)
    if owed <= current:
        return _Plan(current, current, next_alert_after(deadline, current, cal, 0))
    transit = deadline.stage is Stage.TRANSIT
    pickup = deadline.stage is Stage.PICKUP
    if deadline.stage is Stage.SPECIAL:
        return _special_plan(
            deadline, case, directory, current, owed, next_alert_after(deadline, owed, cal, 0)
        )
    next_at = next_alert_after(deadline, owed, cal, 0)
    if owed == LEVEL_WARNED and (transit or pickup):
        return _Plan(current, owed, next_at)
    units = [directory.offices.get(deadline.office_id or 0)]
    # The department sees the case once it was forwarded; a result at the window is the
    # window's to hand over.
    if case.forwarded and not pickup:
        units.append(directory.departments.get(deadline.department_id or 0))
    recipients = tuple(u.address for u in units if u is not None)
    lines = [f"办件编号：{case.case_no}", f"预计期限：{local_due(deadline.due_at)}"]
    if transit:
        sent = _mailing(session, deadline.case_id)
        headline = "原件寄递超出预计时间，尚未确认寄达"
        lines += [
            f"寄递企业：{sent.get('carrier') or '—'}，运单号：{sent.get('tracking_no') or '—'}",
            "请收件窗口向寄递企业查询，办理地部门收到后及时确认寄达。在途时间不计入任何一方的办理时限。",
        ]
    elif pickup:
        headline = "办理结果已在窗口待领取多日，请提醒申请人领取"
        lines.append("申请人等待领取的时间不计入任何一方的办理时限。")
    elif owed == LEVEL_WARNED:
        headline = "申请人补正期限将到，请提醒申请人补正"
        lines.append("补正期间不计入办理时限。")
    else:
        headline = "申请人补正期限已届满，可视为撤回"
        lines.append("申请人逾期未补正的，可作“视为撤回”处理并告知申请人。")
    kind = "warning" if owed == LEVEL_WARNED else "overdue"
    return _Plan(
        old_level=current,
        new_level=owed,
        next_at=next_at,
        kind=kind,
        recipients=recipients,
        subject=f"【{KIND_LABELS[kind]}】{case.case_no} {headline}",
        body="\n".join(lines),
        details={"stage": deadline.stage, "uncharged": True, "skipped_levels": 0},
    )


def _special_plan(
    deadline: Deadline,
    case: _CaseRef,
    directory: Directory,
    current: int,
    owed: int,
    next_at: datetime | None,
) -> _Plan:
    """A 特别程序 near or past its expected days: the department that runs it hears of it."""
    unit = directory.departments.get(deadline.department_id or 0)
    kind = "warning" if owed == LEVEL_WARNED else "overdue"
    headline = "特别程序预计期限将到" if kind == "warning" else "特别程序已超出预计期限"
    lines = [
        f"办件编号：{case.case_no}",
        f"预计期限：{local_due(deadline.due_at)}",
        "特别程序所需时间不计入审查决定时限；结束后请及时在系统中办理“特别程序结束”。",
    ]
    return _Plan(
        old_level=current,
        new_level=owed,
        next_at=next_at,
        kind=kind,
        recipients=(unit.address,) if unit is not None else ("admin",),
        subject=f"【{KIND_LABELS[kind]}】{case.case_no} {headline}",
        body="\n".join(lines),
        details={"stage": deadline.stage, "uncharged": True, "skipped_levels": 0},
    )


def _mailing(session: Session, case_id: int) -> dict[str, Any]:
    """The carrier and tracking number the originals were mailed with."""
    payload = session.scalar(
        select(AuditEvent.payload)
        .where(AuditEvent.case_id == case_id, AuditEvent.action == "mail_originals")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return dict(payload or {})


_DEADLINES = cast(Table, Deadline.__table__)
_MARKER = (
    update(_DEADLINES)
    .where(
        _DEADLINES.c.id == bindparam("b_id"),
        _DEADLINES.c.alert_level == bindparam("b_old"),
        _DEADLINES.c.status == DeadlineStatus.RUNNING,
    )
    .values(alert_level=bindparam("b_new"), next_alert_at=bindparam("b_next"))
)


def _move_markers(session: Session, moves: Sequence[tuple[Deadline, _Plan]]) -> None:
    """Conditional UPDATE, one statement for the batch: a deadline's level moves only where it
    still has the level this sweeper saw. Fewer rows moved than asked: someone else got
    there first, and the caller redoes the deadlines one by one to find out which."""
    if not moves:
        return
    params = [
        {"b_id": c.id, "b_old": p.old_level, "b_new": p.new_level, "b_next": p.next_at}
        for c, p in moves
    ]
    result = session.connection().execute(_MARKER, params)
    if result.rowcount != len(params):
        raise _LostClaim


def _record(
    session: Session,
    key: AuditKey,
    deadline: Deadline,
    case: Case,
    plan: _Plan,
    now: datetime,
) -> Alert:
    """The alert row and its audit event on the case (the outbox follows once ids exist)."""
    assert plan.kind is not None
    alert = Alert(
        kind=plan.kind,
        level=plan.level_no,
        deadline_id=deadline.id,
        case_id=case.id,
        stage=deadline.stage,
        owner_side=deadline.owner_side,
        office_id=deadline.office_id,
        department_id=deadline.department_id,
        user_id=deadline.user_id,
        due_at=deadline.due_at,
        recipients=list(plan.recipients),
        details=plan.details,
        created_at=now,
    )
    session.add(alert)
    append_event(
        session,
        key,
        case,
        None,
        action=f"deadline_{plan.kind}",
        at=now,
        from_state=case.state,
        to_state=case.state,
        reasons=[plan.subject],
        payload={
            "deadline_id": deadline.id,
            "stage": deadline.stage,
            "owner_side": deadline.owner_side,
            "level": plan.level_no,
            "due_at": deadline.due_at.isoformat() if deadline.due_at else None,
            "recipients": list(plan.recipients),
            **plan.details,
        },
    )
    return alert


def claim_statement(
    now: datetime, batch: int, after: tuple[datetime, int] | None, *, postgresql: bool
) -> Any:
    """The claim: running deadlines whose next alert is due, oldest first, locked for us."""
    conditions: list[ColumnElement[bool]] = [
        Deadline.next_alert_at <= now,
        Deadline.status == DeadlineStatus.RUNNING,
    ]
    if after is not None:
        conditions.append(tuple_(Deadline.next_alert_at, Deadline.id) > tuple_(*after))
    stmt = (
        select(Deadline)
        .where(*conditions)
        .order_by(Deadline.next_alert_at, Deadline.id)
        .limit(batch)
    )
    return stmt.with_for_update(skip_locked=True) if postgresql else stmt


def _lock_cases(session: Session, ids: Sequence[int], postgresql: bool) -> dict[int, Case]:
    if not ids:
        return {}
    stmt = select(Case).where(Case.id.in_(sorted(set(ids))))
    if postgresql:
        stmt = stmt.with_for_update(skip_locked=True)
    return {case.id: case for case in session.scalars(stmt)}


@dataclass(frozen=True)
class _CaseRef:
    case_no: str
    office_id: int  # the receiving window: its region's supervisors hear of every delay
    forwarded: bool = True


def _case_refs(session: Session, ids: Sequence[int]) -> dict[int, _CaseRef]:
    if not ids:
        return {}
    rows = session.execute(
        select(Case.id, Case.case_no, Case.office_id, Case.forwarded_at).where(
            Case.id.in_(set(ids))
        )
    )
    return {
        case_id: _CaseRef(case_no, office_id, forwarded is not None)
        for case_id, case_no, office_id, forwarded in rows
    }


def sweep(uow: UnitOfWork, *, now: datetime, batch: int | None = None) -> SweepReport:
    """Record every alert due at `now`, one batch per transaction, until none is left."""
    started = time.perf_counter()
    settings = uow.rt.settings
    size = batch or settings.sweep_batch
    escalation = settings.escalation_days * SECONDS_PER_DAY
    report = SweepReport()
    try:
        with uow:
            report.rescheduled += reconcile_imports(uow, now=now)
            uow.commit()
    except Exception:  # the calendar can wait a round; the alerts cannot
        log.exception("sweep.calendar_reconcile_failed")
    directory: Directory | None = None
    after: tuple[datetime, int] | None = None
    while True:
        failed: list[int] = []
        with uow:
            session = uow.session
            postgresql = session.get_bind().dialect.name == "postgresql"
            deadlines = session.scalars(
                claim_statement(now, size, after, postgresql=postgresql)
            ).all()
            if not deadlines:
                break
            report.batches += 1
            report.claimed += len(deadlines)
            ids = [deadline.id for deadline in deadlines]
            last = deadlines[-1]
            assert last.next_alert_at is not None
            after = (last.next_alert_at, last.id)
            if directory is None:
                directory = Directory(session)
            cal = calendar_for(uow)
            try:
                outcome = _sweep_batch(
                    session, uow.rt.key, deadlines, directory, cal, now, escalation, settings,
                    postgresql,
                )  # fmt: skip
                session.flush()
                uow.commit()
            except Exception:
                # Rare: the batch failed as a whole (e.g. the alerts unique constraint). Roll it
                # back and redo its deadlines one transaction each, so only the bad one is lost.
                log.exception("sweep.batch_failed", deadlines=ids)
                failed = ids
            else:
                report.alerts.update(outcome.alerts)
                report.rescheduled += outcome.rescheduled
                report.busy += outcome.busy
                report.lost += outcome.lost
                report.errors += outcome.errors
        for deadline_id in failed:
            _sweep_one(uow, deadline_id, directory, now, escalation, report)
    report.seconds = time.perf_counter() - started
    if report.claimed:
        log.info("sweep.done", now=now.isoformat(), **report.summary())
    return report


def _sweep_batch(
    session: Session,
    key: AuditKey,
    deadlines: Sequence[Deadline],
    directory: Directory,
    cal: WorkCalendar,
    now: datetime,
    escalation: int,
    settings: Settings,
    postgresql: bool,
) -> SweepReport:
    outcome = SweepReport()
    refs = _case_refs(session, [c.case_id for c in deadlines])
    plans: list[tuple[Deadline, _Plan]] = []
    for deadline in deadlines:
        try:
            plans.append(
                (
                    deadline,
                    _plan(
                        deadline,
                        refs.get(deadline.case_id, _CaseRef("?", 0)),
                        directory,
                        session,
                        cal,
                        now,
                        escalation,
                    ),
                )
            )
        except Exception:
            outcome.errors += 1
            log.exception(
                "sweep.deadline_failed", deadline_id=deadline.id, case_id=deadline.case_id
            )
    cases = _lock_cases(session, [c.case_id for c, p in plans if p.kind], postgresql)
    ready: list[tuple[Deadline, _Plan]] = []
    for deadline, plan in plans:
        if plan.kind is not None and deadline.case_id not in cases:
            outcome.busy += 1
            log.info("sweep.case_busy", deadline_id=deadline.id, case_id=deadline.case_id)
        else:
            ready.append((deadline, plan))
    with session.no_autoflush:
        try:
            _move_markers(session, ready)
        except _LostClaim:
            if len(ready) > 1:
                raise  # the caller redoes this batch deadline by deadline
            outcome.lost += len(ready)
            return outcome
        recorded: list[tuple[Alert, _Plan]] = []
        for deadline, plan in ready:
            if plan.kind is None:
                outcome.rescheduled += 1
                continue
            recorded.append(
                (_record(session, key, deadline, cases[deadline.case_id], plan, now), plan)
            )
            outcome.alerts[plan.kind] += 1
    if recorded:
        session.flush()  # alert ids for the outbox rows
        write_outbox(
            session,
            [
                row
                for alert, plan in recorded
                for row in outbox_rows(
                    channel=settings.notify_channel,
                    recipients=plan.recipients,
                    subject=plan.subject,
                    body=plan.body,
                    now=now,
                    alert_id=alert.id,
                )
            ],
        )
    return outcome


def _sweep_one(
    uow: UnitOfWork,
    deadline_id: int,
    directory: Directory | None,
    now: datetime,
    escalation: int,
    report: SweepReport,
) -> None:
    try:
        with uow:
            session = uow.session
            postgresql = session.get_bind().dialect.name == "postgresql"
            stmt = select(Deadline).where(
                Deadline.id == deadline_id,
                Deadline.next_alert_at <= now,
                Deadline.status == DeadlineStatus.RUNNING,
            )
            if postgresql:
                stmt = stmt.with_for_update(skip_locked=True)
            deadline = session.scalars(stmt).one_or_none()
            if deadline is None:
                return
            outcome = _sweep_batch(
                session,
                uow.rt.key,
                [deadline],
                directory or Directory(session),
                calendar_for(uow),
                now,
                escalation,
                uow.rt.settings,
                postgresql,
            )
            session.flush()
            uow.commit()
    except Exception:
        report.errors += 1
        log.exception("sweep.deadline_failed", deadline_id=deadline_id)
        return
    report.alerts.update(outcome.alerts)
    report.rescheduled += outcome.rescheduled
    report.busy += outcome.busy
    report.lost += outcome.lost
    report.errors += outcome.errors
