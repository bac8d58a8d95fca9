"""The case write path: what an action reads and writes, in as few round trips as it can.

An action reads its case (locked: FOR UPDATE on PostgreSQL, the write lock BEGIN IMMEDIATE
takes on SQLite), the case's open deadlines and its materials; it then writes the case row
(`WHERE version = <read>`, zero rows is a stale version), one audit event, the deadline
moves and any materials handed in. A receipt inserts each row once, with its final values.

The statements are SQLAlchemy Core over the models' tables, compiled once per runtime to
the driver's SQL and run on the driver connection of the unit of work's transaction, with
the column types' own bind and result processors. On PostgreSQL, statements that do not
depend on each other go out together (psycopg's pipeline mode): an action is three round
trips — read, write, commit — and so is a receipt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Dialect,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from tongban.models import (
    AuditEvent,
    Case,
    CaseCounter,
    CaseMaterial,
    Deadline,
    Department,
    GuideVersion,
    Item,
)
from tongban.workflow.deadlines import DeadlineStatus
from tongban.workflow.guards import CaseFacts
from tongban.workflow.guide import GuideConfig, Material
from tongban.workflow.identity import ApplicantKind
from tongban.workflow.states import State

from ..audit.chain import LINK_COLUMNS
from ..core.uow import UnitOfWork
from ..deadlines.ops import MOVING, STARTING, NewDeadline, Timing

_CASES = cast(Table, Case.__table__)
_DEADLINES = cast(Table, Deadline.__table__)
_MATERIALS = cast(Table, CaseMaterial.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
_COUNTERS = cast(Table, CaseCounter.__table__)
_ITEMS = cast(Table, Item.__table__)
_GUIDES = cast(Table, GuideVersion.__table__)
_DEPARTMENTS = cast(Table, Department.__table__)

Processor = Callable[[Any], Any]


class _Statement:
    """A Core statement compiled for one dialect, with the processors of its parameters and
    of its result columns."""

    def __init__(
        self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = cast(
            SQLCompiler,
            stmt.compile(dialect=dialect, column_keys=list(column_keys or ()) or None),
        )
        self.sql = str(compiled)
        # (name in the SQL, key the caller gives it by, processor); literals in the statement
        # (`last + 1`) are binds with a value of their own, which the caller never gives.
        self._plain: list[tuple[str, str]] = []
        self._processed: list[tuple[str, str, Processor]] = []
        self._fixed: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is None:
                self._plain.append((name, bind.key))
            else:
                self._processed.append((name, bind.key, process))
            if not bind.required:
                self._fixed[bind.key] = bind.effective_value
        columns = getattr(stmt, "selected_columns", None) or ()
        self._results: list[Processor | None] = [
            col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns
        ]

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        given = {**self._fixed, **values} if self._fixed else values
        out = {name: given[key] for name, key in self._plain}
        for name, key, process in self._processed:
            value = given[key]
            out[name] = None if value is None else process(value)
        return out

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            p(v) if p is not None and v is not None else v
            for p, v in zip(self._results, raw, strict=True)
        )


def _insert(table: Table, **values: Any) -> ClauseElement:
    # `inline()`: the ids are never read back, so PostgreSQL gets no RETURNING.
    return insert(table).values(**values).inline()


_CASE_READ = (
    "id", "case_no", "version", "state", "office_id", "department_id", "guide_version_id",
    "applicant_kind", "applicant_id_number", "originals_required", "originals_received_at",
    "audit_seq", "audit_head",
)  # fmt: skip
# Read in the order of the dataclasses they fill.
_DEADLINE_READ = ("id", *(f.name for f in fields(Timing)))
_MATERIAL_READ = tuple(f.name for f in fields(Material))
_MATERIAL_NEW = (*_MATERIAL_READ, "details")
_CASE_NEW = (
    "case_no", "item_id", "guide_version_id", "mode", "state", "version", "office_id",
    "department_id", "applicant_kind", "applicant_name", "applicant_id_number",
    "contact_phone", "delivery_preference", "delivery_address", "originals_required",
    "received_at", "updated_at", "audit_seq", "audit_head",
)  # fmt: skip


def _cols(table: Table, names: Sequence[str]) -> list[Column[Any]]:
    return [table.c[name] for name in names]


def _by_case_no() -> ColumnElement[Any]:
    """The id of the case numbered :case_no (rows inserted with a receipt reference it)."""
    return select(_CASES.c.id).where(_CASES.c.case_no == bindparam("case_no")).scalar_subquery()


class Statements:
    """Every statement of the write path, compiled for one dialect (one per runtime)."""

    def __init__(self, dialect: Dialect) -> None:
        self.pipelined = dialect.name == "postgresql"
        if dialect.name == "sqlite":
            # Named parameters, so both drivers take the same dict of values.
            dialect = sqlite.dialect(paramstyle="named")

        def prepare(stmt: ClauseElement, keys: Sequence[str] | None = None) -> _Statement:
            return _Statement(stmt, dialect, keys)

        case_id: BindParameter[int] = bindparam("case_id")
        self.read_case = prepare(
            select(*_cols(_CASES, _CASE_READ))
            .where(_CASES.c.case_no == bindparam("case_no"))
            .with_for_update()
        )
        case_of_no = _CASES.c.case_no == bindparam("case_no")
        self.read_deadlines = prepare(
            select(*_cols(_DEADLINES, _DEADLINE_READ))
            .join(_CASES, _CASES.c.id == _DEADLINES.c.case_id)
            .where(case_of_no, _DEADLINES.c.status != DeadlineStatus.CLOSED)
            .order_by(_DEADLINES.c.id)
        )
        self.read_materials = prepare(
            select(*_cols(_MATERIALS, _MATERIAL_READ))
            .join(_CASES, _CASES.c.id == _MATERIALS.c.case_id)
            .where(case_of_no)
            .order_by(_MATERIALS.c.id)
        )
        self.update_case = prepare(
            update(_CASES)
            .where(_CASES.c.id == case_id, _CASES.c.version == bindparam("read_version"))
            .values(
                state=bindparam("state", type_=_CASES.c.state.type),
                version=bindparam("new_version"),
                updated_at=bindparam("now", type_=_CASES.c.updated_at.type),
                audit_seq=bindparam("seq"),
                audit_head=bindparam("mac"),
                originals_required=bindparam("required", type_=_CASES.c.originals_required.type),
                closed_at=func.coalesce(
                    bindparam("closed_at", type_=_CASES.c.closed_at.type), _CASES.c.closed_at
                ),
                decision=func.coalesce(
                    bindparam("decision", type_=_CASES.c.decision.type), _CASES.c.decision
                ),
                originals_received_at=func.coalesce(
                    bindparam("arrived_at", type_=_CASES.c.originals_received_at.type),
                    _CASES.c.originals_received_at,
                ),
            )
        )
        self.update_deadline = prepare(
            update(_DEADLINES).where(_DEADLINES.c.id == bindparam("deadline_id")), MOVING
        )

        def inserts(case: ColumnElement[Any]) -> tuple[_Statement, _Statement, _Statement]:
            """A case's deadline, event and material rows, for the case given by `case`."""
            return (
                prepare(_insert(_DEADLINES, case_id=case), STARTING),
                prepare(_insert(_EVENTS, case_id=case), LINK_COLUMNS),
                prepare(_insert(_MATERIALS, case_id=case), _MATERIAL_NEW),
            )

        # After an action the case's id is known; a receipt's rows name its number.
        self.insert_deadline, self.insert_event, self.insert_materials = inserts(case_id)
        (self.insert_deadline_by_no, self.insert_event_by_no, self.insert_materials_by_no) = (
            inserts(_by_case_no())
        )
        self.insert_case = prepare(_insert(_CASES), _CASE_NEW)
        counter = (postgresql if self.pipelined else sqlite).insert(_COUNTERS)
        self.next_number = prepare(
            counter.values(office_id=bindparam("office_id"), day=bindparam("day"), last=1)
            .on_conflict_do_update(
                index_elements=[_COUNTERS.c.office_id, _COUNTERS.c.day],
                set_={"last": _COUNTERS.c.last + 1},
            )
            .returning(_COUNTERS.c.last)
        )
        latest = (
            select(func.max(_GUIDES.c.version))
            .where(_GUIDES.c.item_id == _ITEMS.c.id)
            .correlate(_ITEMS)
            .scalar_subquery()
        )
        department = (
            select(_DEPARTMENTS.c.id)
            .where(_DEPARTMENTS.c.code == bindparam("department_code"))
            .scalar_subquery()
        )
        self.read_references = prepare(
            select(_ITEMS.c.id, _ITEMS.c.name, _GUIDES.c.id, _GUIDES.c.version, department)
            .select_from(
                _ITEMS.outerjoin(
                    _GUIDES, and_(_GUIDES.c.item_id == _ITEMS.c.id, _GUIDES.c.version == latest)
                )
            )
            .where(_ITEMS.c.code == bindparam("item_code"))
        )


# --- what an action reads -----------------------------------------------------------------


@dataclass(frozen=True)
class OpenDeadline:
    id: int
    timing: Timing


@dataclass(frozen=True)
class StoredCase:
    """A case as an action reads it, its row locked until the transaction ends."""

    id: int
    case_no: str
    version: int
    state: State
    office_id: int
    department_id: int
    guide_version_id: int | None
    applicant_kind: ApplicantKind
    applicant_id_number: str
    originals_required: bool
    originals_arrived: bool
    audit_seq: int
    audit_head: str
    deadlines: tuple[OpenDeadline, ...]
    materials: tuple[Material, ...]

    def facts(self, guide: GuideConfig | None) -> CaseFacts:
        return CaseFacts(
            state=self.state,
            originals_required=self.originals_required,
            originals_arrived=self.originals_arrived,
            applicant_kind=self.applicant_kind,
            applicant_id_number=self.applicant_id_number,
            handed_in=self.materials,
            guide=guide,
        )


@dataclass(frozen=True)
class References:
    """What a receipt needs to know about its item and department."""

    item_id: int
    item_name: str
    guide_id: int | None
    guide_version: int | None
    department_id: int | None


# --- what an action writes ----------------------------------------------------------------


@dataclass(frozen=True)
class CaseMove:
    """The case row after an action."""

    state: State
    now: datetime
    seq: int
    mac: str
    originals_required: bool
    closed_at: datetime | None = None
    decision: str | None = None
    arrived_at: datetime | None = None


def _material_values(m: Material) -> dict[str, Any]:
    return {**{name: getattr(m, name) for name in _MATERIAL_READ}, "details": {}}


class CaseStore:
    """The write path of one unit of work's open transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._s = uow.rt.statements
        self._db = uow.driver

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Statements sent together, their results read at the end (PostgreSQL)."""
        with self._db.pipeline() if self._s.pipelined else nullcontext():
            yield

    def _run(self, stmt: _Statement, values: Mapping[str, Any]) -> Any:
        cursor = self._db.cursor()
        cursor.execute(stmt.sql, stmt.params(values))
        return cursor

    def _run_many(self, stmt: _Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._db.cursor().executemany(stmt.sql, [stmt.params(r) for r in rows])

    def load(self, case_no: str, *, materials: bool) -> StoredCase | None:
        """The case numbered `case_no`, locked, with its open deadlines and, when asked
        for, its materials."""
        s = self._s
        key = {"case_no": case_no}
        with self._batch():
            case_cur = self._run(s.read_case, key)
            deadline_cur = self._run(s.read_deadlines, key)
            material_cur = self._run(s.read_materials, key) if materials else None
        raw = case_cur.fetchone()
        if raw is None:
            return None
        row = dict(zip(_CASE_READ, s.read_case.row(raw), strict=True))
        # The columns' result processors give the enums, booleans and aware datetimes.
        deadlines = []
        for d in deadline_cur.fetchall():
            deadline_id, *timing = s.read_deadlines.row(d)
            deadlines.append(OpenDeadline(deadline_id, Timing(*timing)))
        handed_in = tuple(
            Material(*s.read_materials.row(m))
            for m in (material_cur.fetchall() if material_cur is not None else ())
        )
        arrived_at = row.pop("originals_received_at")
        return StoredCase(
            **row,
            originals_arrived=arrived_at is not None,
            deadlines=tuple(deadlines),
            materials=handed_in,
        )

    def save(
        self,
        case: StoredCase,
        move: CaseMove,
        event: Mapping[str, Any],
        moved: Sequence[OpenDeadline],
        opened: Sequence[NewDeadline],
        materials: Sequence[Material],
    ) -> bool:
        """Write an action's changes; False (nothing kept) when the case's version moved."""
        s = self._s
        ref = {"case_id": case.id}
        with self._batch():
            case_cur = self._run(
                s.update_case,
                {
                    **ref,
                    "read_version": case.version,
                    "new_version": case.version + 1,
                    "state": move.state,
                    "now": move.now,
                    "seq": move.seq,
                    "mac": move.mac,
                    "required": move.originals_required,
                    "closed_at": move.closed_at,
                    "decision": move.decision,
                    "arrived_at": move.arrived_at,
                },
            )
            self._run(s.insert_event, {**ref, **event})
            for d in moved:
                self._run(s.update_deadline, {"deadline_id": d.id, **d.timing.values()})
            for new in opened:
                self._run(s.insert_deadline, {**ref, **new.values()})
            self._run_many(s.insert_materials, [{**ref, **_material_values(m)} for m in materials])
        return bool(case_cur.rowcount == 1)

    # --- receipt ----------------------------------------------------------------------

    def references(self, *, item_code: str, department_code: str) -> References | None:
        cursor = self._run(
            self._s.read_references,
            {"item_code": item_code, "department_code": department_code},
        )
        raw = cursor.fetchone()
        if raw is None:
            return None
        return References(*self._s.read_references.row(raw))

    def next_number(self, office_id: int, day: date) -> int:
        cursor = self._run(self._s.next_number, {"office_id": office_id, "day": day})
        return int(cursor.fetchone()[0])

    def insert(
        self,
        case: Mapping[str, Any],
        event: Mapping[str, Any],
        deadline: NewDeadline,
        materials: Sequence[Material],
    ) -> None:
        """A new case with everything it starts with, each row inserted once."""
        s = self._s
        ref = {"case_no": case["case_no"]}
        with self._batch():
            self._run(s.insert_case, case)
            self._run_many(
                s.insert_materials_by_no, [{**ref, **_material_values(m)} for m in materials]
            )
            self._run(s.insert_deadline_by_no, {**ref, **deadline.values()})
            self._run(s.insert_event_by_no, {**ref, **event})
