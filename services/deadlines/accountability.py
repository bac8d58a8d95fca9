"""Accountability (责任追溯): which stage of a case ran late, which side and unit held it,
who acted in it, and by how many working days — for one case and in aggregate.

The people come from the audit events: whoever acted on the owning side (window clerks for
window stages, home reviewers for home stages, of the owning unit) between the stage's start
and its end. A late stage where nobody of that unit acted says so (无人办理).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from tongban.models import AuditEvent, Case, Deadline, Department, Office, User
from tongban.workflow.calendar import WorkCalendar
from tongban.workflow.excluded import Excluded, Happened, excluded
from tongban.workflow.roles import SIDE_ROLE
from tongban.workflow.stages import STAGE_LABELS, UNCHARGED, Stage
from tongban.workflow.states import SIDE_LABELS

from ..calendar.store import calendar_for
from ..core.errors import CaseNotFound
from ..core.uow import UnitOfWork
from ..users.scope import region_prefix
from .alerts import WorkingTime, late_clause, used_seconds_at

_CHUNK = 1000


@dataclass(frozen=True)
class Person:
    """Someone who acted on a case during a stage."""

    user_id: int | None
    name: str
    role: str
    unit: str
    actions: int


@dataclass(frozen=True)
class StageRecord(WorkingTime):
    case_no: str
    deadline_id: int
    stage: str
    stage_label: str
    side: str
    side_label: str
    unit_code: str
    unit_name: str
    region_code: str
    status: str  # running | paused | closed
    started_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    limit_seconds: int
    used_seconds: int  # by the report's `now` for a running deadline
    uncertain: bool
    assigned: str | None  # the user the deadline was assigned to, if any
    people: tuple[Person, ...]  # who of the owning unit acted during the stage
    # The stage's time not counted (补正, 中止, 特别程序): charged to nobody.
    excluded: tuple[Excluded, ...] = ()

    @property
    def excluded_days(self) -> int:
        return sum(x.days for x in self.excluded)

    @property
    def late(self) -> bool:
        # Originals on the road and the applicant's 补正期限 are nobody's 超期.
        return self.overdue_seconds > 0 and Stage(self.stage) not in UNCHARGED

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_no": self.case_no,
            "stage": self.stage,
            "stage_label": self.stage_label,
            "side": self.side,
            "side_label": self.side_label,
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "limit_days": self.limit_days,
            "used_days": self.used_days,
            "days_over": self.days_over,
            "uncertain": self.uncertain,
            "assigned": self.assigned,
            "people": [
                {"name": p.name, "role": p.role, "unit": p.unit, "actions": p.actions}
                for p in self.people
            ],
            "excluded_days": self.excluded_days,
            "excluded": [
                {
                    "label": x.label,
                    "reasons": list(x.reasons),
                    "legal_basis": x.legal_basis,
                    "from": x.started_at.isoformat(),
                    "to": x.ended_at.isoformat() if x.ended_at else None,
                    "days": x.days,
                }
                for x in self.excluded
            ],
        }


@dataclass(frozen=True)
class CaseAccountability:
    case_no: str
    state: str
    stages: tuple[StageRecord, ...]

    @property
    def late(self) -> tuple[StageRecord, ...]:
        return tuple(s for s in self.stages if s.late)


@dataclass(frozen=True)
class Total:
    key: str  # unit code, stage, or person
    label: str
    count: int
    days_over: int
    worst: int


@dataclass(frozen=True)
class OverdueReport:
    now: datetime
    region: str | None
    rows: tuple[StageRecord, ...]
    by_unit: tuple[Total, ...]
    by_stage: tuple[Total, ...]
    by_person: tuple[Total, ...]

    def as_dict(self) -> dict[str, Any]:
        def totals(items: Iterable[Total]) -> list[dict[str, Any]]:
            return [
                {
                    "key": t.key,
                    "label": t.label,
                    "count": t.count,
                    "days_over": t.days_over,
                    "worst": t.worst,
                }
                for t in items
            ]

        return {
            "now": self.now.isoformat(),
            "region": self.region,
            "late_stages": [r.as_dict() for r in self.rows],
            "by_unit": totals(self.by_unit),
            "by_stage": totals(self.by_stage),
            "by_person": totals(self.by_person),
        }


def _people(
    events: Sequence[AuditEvent], deadline: Deadline, unit_code: str, now: datetime
) -> tuple[Person, ...]:
    end = deadline.closed_at or now
    holder = SIDE_ROLE.get(deadline.owner_side)
    if holder is None:
        return ()  # a watched period (原件在途, 补正期限): nobody held it
    role = holder.value
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    for e in events:
        if e.actor_id is None or e.role != role or e.unit != unit_code:
            continue
        if deadline.started_at <= e.at <= end:
            counts[(e.actor_id, e.actor_name)] += 1
    return tuple(
        Person(user_id, name, role, unit_code, n)
        for (user_id, name), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1]))
    )


def _records(
    session: Session,
    rows: Sequence[tuple[Deadline, str, str | None, str | None, str | None]],
    now: datetime,
    cal: WorkCalendar,
) -> list[StageRecord]:
    case_ids = sorted({deadline.case_id for deadline, *_ in rows})
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    for i in range(0, len(case_ids), _CHUNK):
        chunk = case_ids[i : i + _CHUNK]
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id.in_(chunk), AuditEvent.actor_id.is_not(None))
            .order_by(AuditEvent.case_id, AuditEvent.seq)
        ):
            events[e.case_id].append(e)
    user_ids = {deadline.user_id for deadline, *_ in rows if deadline.user_id}
    usernames = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    intervals = {
        case_id: excluded([happened(e) for e in found], cal, now)
        for case_id, found in events.items()
    }
    out = []
    for deadline, case_no, code, name, region in rows:
        stage = Stage(deadline.stage)
        unit_code = code or ""
        out.append(
            StageRecord(
                case_no=case_no,
                deadline_id=deadline.id,
                stage=stage.value,
                stage_label=STAGE_LABELS[stage],
                side=deadline.owner_side.value,
                side_label=SIDE_LABELS[deadline.owner_side],
                unit_code=unit_code,
                unit_name=name or "",
                region_code=region or "",
                status=deadline.status.value,
                started_at=deadline.started_at,
                due_at=deadline.due_at,
                closed_at=deadline.closed_at,
                limit_seconds=deadline.limit_seconds,
                used_seconds=used_seconds_at(deadline, now, cal),
                uncertain=deadline.uncertain,
                assigned=usernames.get(deadline.user_id) if deadline.user_id else None,
                people=_people(events.get(deadline.case_id, []), deadline, unit_code, now),
                excluded=_within(intervals.get(deadline.case_id, []), deadline, now),
            )
        )
    return out


def happened(event: AuditEvent) -> Happened:
    """What the excluded-time reading needs of an audit event."""
    return Happened(event.action, event.at, tuple(event.reasons), event.payload, event.to_state)


def _within(
    intervals: Sequence[Excluded], deadline: Deadline, now: datetime
) -> tuple[Excluded, ...]:
    """The intervals that began while the stage ran (its clock was the one paused)."""
    end = deadline.closed_at or now
    return tuple(x for x in intervals if deadline.started_at <= x.started_at <= end)


def _base_query() -> Any:
    office, department = aliased(Office), aliased(Department)
    stmt = (
        select(
            Deadline,
            Case.case_no,
            office.code,
            department.code,
            office.name,
            department.name,
            office.region_code,
            department.region_code,
        )
        .join(Case, Case.id == Deadline.case_id)
        .outerjoin(office, office.id == Deadline.office_id)
        .outerjoin(department, department.id == Deadline.department_id)
    )
    return stmt, office, department


def _flatten(
    raw: Iterable[Any],
) -> list[tuple[Deadline, str, str | None, str | None, str | None]]:
    return [
        (deadline, case_no, o_code or d_code, o_name or d_name, o_region or d_region)
        for deadline, case_no, o_code, d_code, o_name, d_name, o_region, d_region in raw
    ]


def case_accountability(uow: UnitOfWork, case_no: str, *, now: datetime) -> CaseAccountability:
    """Every stage of one case with its time used, lateness and the people who held it."""
    with uow.reading():
        session = uow.session
        case = session.scalars(select(Case).where(Case.case_no == case_no)).one_or_none()
        if case is None:
            raise CaseNotFound(f"办件「{case_no}」不存在，请核对办件编号。")
        stmt, _office, _department = _base_query()
        raw = session.execute(stmt.where(Deadline.case_id == case.id).order_by(Deadline.id))
        records = _records(session, _flatten(raw), now, calendar_for(uow))
    return CaseAccountability(case.case_no, case.state.value, tuple(records))


def _total(key: str, label: str, items: Sequence[StageRecord]) -> Total:
    over = [r.days_over for r in items]
    return Total(key, label, len(items), sum(over), max(over))


def overdue_report(uow: UnitOfWork, *, now: datetime, region: str | None = None) -> OverdueReport:
    """Every stage that ran late (running past due, or stopped after using more than its
    limit), optionally only those held by units in `region` (e.g. 341700 covers 3417xx)."""
    stmt, office, department = _base_query()
    stmt = stmt.where(late_clause(now))
    if region:
        prefix = region_prefix(region)
        stmt = stmt.where(
            or_(
                and_(Deadline.office_id.is_not(None), office.region_code.startswith(prefix)),
                and_(
                    Deadline.department_id.is_not(None),
                    department.region_code.startswith(prefix),
                ),
            )
        )
    with uow.reading():
        raw = uow.session.execute(stmt.order_by(Deadline.started_at, Deadline.id))
        records = _records(uow.session, _flatten(raw), now, calendar_for(uow))
    rows = [r for r in records if r.late]
    rows.sort(key=lambda r: (-r.overdue_seconds, r.case_no, r.deadline_id))

    by_unit: dict[str, list[StageRecord]] = defaultdict(list)
    by_stage: dict[str, list[StageRecord]] = defaultdict(list)
    by_person: dict[str, list[StageRecord]] = defaultdict(list)
    labels: dict[str, str] = {}
    for r in rows:
        by_unit[r.unit_code].append(r)
        labels[r.unit_code] = f"{r.unit_name}（{r.side_label}）"
        by_stage[r.stage].append(r)
        if not r.people:
            by_person["—"].append(r)
            labels["—"] = "（无人办理）"
        for p in r.people:
            key = f"{p.unit}/{p.name}"
            by_person[key].append(r)
            labels[key] = f"{p.name}（{p.unit}）"

    def ordered(groups: dict[str, list[StageRecord]], label: Any) -> tuple[Total, ...]:
        totals = [_total(k, label(k), v) for k, v in groups.items()]
        return tuple(sorted(totals, key=lambda t: (-t.days_over, t.key)))

    return OverdueReport(
        now=now,
        region=region,
        rows=tuple(rows),
        by_unit=ordered(by_unit, lambda k: labels[k]),
        by_stage=ordered(by_stage, lambda k: STAGE_LABELS[Stage(k)]),
        by_person=ordered(by_person, lambda k: labels[k]),
    )
