"""The SQL of the case write path: SQLAlchemy Core statements over the models' tables,
compiled once per runtime for its database, to run on the driver connection with the
column types' own bind and result processors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, cast

import psycopg
from sqlalchemy import (
    ARRAY,
    CTE,
    JSON,
    Column,
    ColumnElement,
    Dialect,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from tongban.models import (
    AuditEvent,
    Case,
    CaseCounter,
    CaseFile,
    CaseMaterial,
    Deadline,
    Department,
    DepartmentItem,
    GuideVersion,
    Item,
)
from tongban.workflow.deadlines import DeadlineStatus
from tongban.workflow.guide import Material

from ..audit.chain import LINK_COLUMNS
from ..deadlines.ops import MOVING, STARTING, Timing

CASES = cast(Table, Case.__table__)
DEADLINES = cast(Table, Deadline.__table__)
MATERIALS = cast(Table, CaseMaterial.__table__)
EVENTS = cast(Table, AuditEvent.__table__)
FILES = cast(Table, CaseFile.__table__)
_COUNTERS = cast(Table, CaseCounter.__table__)
_ITEMS = cast(Table, Item.__table__)
_GUIDES = cast(Table, GuideVersion.__table__)
_DEPARTMENTS = cast(Table, Department.__table__)
_ROUTES = cast(Table, DepartmentItem.__table__)

Processor = Callable[[Any], Any]

CASE_READ = (
    "id", "case_no", "version", "state", "office_id", "department_id", "item_id",
    "guide_version_id", "applicant_kind", "applicant_name", "applicant_document_type",
    "applicant_id_number",
    "agent_role", "agent_name", "agent_document_type", "agent_document_number",
    "forwarded_at", "originals_required", "originals_received_at", "audit_seq", "audit_head",
    "hold", "hold_since", "hold_until", "originals_returned_at",
)  # fmt: skip
# Read in the order of the dataclasses they fill.
DEADLINE_READ = ("id", *(f.name for f in fields(Timing)))
MATERIAL_READ = tuple(f.name for f in fields(Material))
MATERIAL_NEW = (*MATERIAL_READ, "details")
# Where read_case's rows carry the case's id and each open deadline's.
READ_CASE_IDS = (0, len(CASE_READ))
CASE_NEW = (
    "case_no", "item_id", "guide_version_id", "mode", "state", "version", "office_id",
    "department_id", "applicant_kind", "applicant_name", "applicant_document_type",
    "applicant_id_number", "legal_representative", "agent_role", "agent_name",
    "agent_document_type", "agent_document_number", "agent_phone", "agent_relationship",
    "contact_phone", "delivery_preference", "delivery_address", "originals_required",
    "received_at", "updated_at", "audit_seq", "audit_head",
)  # fmt: skip
# The case row after an action: the bind names of its new values.
CASE_MOVE = (
    "state", "now", "seq", "mac", "required", "closed_at", "decision", "arrived_at",
    "forwarded_at", "department_id", "hold", "hold_since", "hold_until", "returned_at",
)  # fmt: skip


class Statement:
    """A Core statement compiled for one dialect, with the processors of its parameters and
    of its result columns.

    On PostgreSQL it is compiled with the server's own `$n` placeholders and takes its
    values as a list, which the driver sends as they are (psycopg's RawCursor): the driver
    then neither parses the SQL for placeholders (which it caches only for statements under
    4 kB and 50 parameters, and the write path's CTEs are longer) nor reorders a dict.
    """

    def __init__(
        self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = cast(
            SQLCompiler,
            stmt.compile(dialect=dialect, column_keys=list(column_keys or ()) or None),
        )
        self.sql = str(compiled)
        self.positional = bool(dialect.positional)
        # Per bind, in the order the driver takes them: (name in the SQL, key the caller
        # gives it by, processor or None). Literals in the statement (`last + 1`) are binds
        # with a value of their own, which the caller never gives.
        names = {name: bind for bind, name in compiled.bind_names.items()}
        order = compiled.positiontup if self.positional else list(names)
        assert order is not None
        self._binds: list[tuple[str, str, Processor | None]] = []
        self._fixed: dict[str, Any] = {}
        for name in order:
            bind = names[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self._binds.append((name, bind.key, process))
            if not bind.required:
                self._fixed[bind.key] = bind.effective_value
        columns = getattr(stmt, "selected_columns", None) or ()
        self._results: list[Processor | None] = [
            col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns
        ]

    def params(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        """The driver's parameters: a list on PostgreSQL, a dict by name on SQLite."""
        given = {**self._fixed, **values} if self._fixed else values
        processed = [
            given[key] if process is None or given[key] is None else process(given[key])
            for _, key, process in self._binds
        ]
        if self.positional:
            return processed
        return {name: value for (name, _, _), value in zip(self._binds, processed, strict=True)}

    def slots(self, key: str) -> list[int | str]:
        """Where the value given as `key` goes in `params()`: list indexes or dict names."""
        return [
            i if self.positional else name
            for i, (name, given, _) in enumerate(self._binds)
            if given == key
        ]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            p(v) if p is not None and v is not None else v
            for p, v in zip(self._results, raw, strict=True)
        )


def _cols(table: Table, names: Sequence[str]) -> list[Column[Any]]:
    return [table.c[name] for name in names]


def _insert(table: Table, **values: Any) -> ClauseElement:
    # `inline()`: the ids are never read back, so PostgreSQL gets no RETURNING.
    return insert(table).values(**values).inline()


def _binds(table: Table, names: Sequence[str], prefix: str = "") -> list[BindParameter[Any]]:
    """Bind parameters for `names` of `table`, typed as its columns, keyed `prefix + name`."""
    return [bindparam(prefix + name, type_=table.c[name].type) for name in names]


def _move_case() -> Any:
    """UPDATE of the case row after an action, only at the version it was read at."""
    c = CASES.c
    (
        state, now, seq, mac, required, closed_at, decision, arrived_at, forwarded_at, handler,
        hold, hold_since, hold_until, returned_at,
    ) = (
        bindparam(name, type_=CASES.c[column].type)
        for name, column in zip(
            CASE_MOVE,
            ("state", "updated_at", "audit_seq", "audit_head", "originals_required",
             "closed_at", "decision", "originals_received_at", "forwarded_at",
             "department_id", "hold", "hold_since", "hold_until", "originals_returned_at"),
            strict=True,
        )
    )  # fmt: skip
    return (
        update(CASES)
        .where(c.id == bindparam("case_id"), c.version == bindparam("read_version"))
        .values(
            state=state,
            version=bindparam("new_version"),
            updated_at=now,
            audit_seq=seq,
            audit_head=mac,
            originals_required=required,
            # Set once: when the case closes, is decided, or its originals arrive.
            closed_at=func.coalesce(closed_at, c.closed_at),
            decision=func.coalesce(decision, c.decision),
            originals_received_at=func.coalesce(arrived_at, c.originals_received_at),
            # The first forward: the home department sees the case from then on.
            forwarded_at=func.coalesce(c.forwarded_at, forwarded_at),
            department_id=func.coalesce(handler, c.department_id),  # 转办
            # The action passes the hold as it stands after it (unchanged by most actions).
            hold=hold,
            hold_since=hold_since,
            hold_until=hold_until,
            originals_returned_at=func.coalesce(returned_at, c.originals_returned_at),
        )
    )


def _by_case_no() -> ColumnElement[Any]:
    """The id of the case numbered :case_no (rows inserted with a receipt reference it)."""
    return select(CASES.c.id).where(CASES.c.case_no == bindparam("case_no")).scalar_subquery()


class Statements:
    """Every statement of the write path, compiled for one database (one per runtime)."""

    def __init__(self, dialect: Dialect) -> None:
        self.postgresql = dialect.name == "postgresql"
        if self.postgresql:
            dialect = PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
        else:
            dialect = sqlite.dialect(paramstyle="named")
        self._dialect = dialect
        # What the write path runs its statements with (the benchmarks' replay records it).
        self.cursor_class: type[Any] | None = psycopg.RawCursor if self.postgresql else None
        self._writes: dict[tuple[bool, bool, bool], Statement] = {}
        self._receipts: dict[bool, Statement] = {}
        prepare = self._prepare

        # The case with its open deadlines, one row per deadline (or one with none).
        self.read_case = prepare(
            select(*_cols(CASES, CASE_READ), *_cols(DEADLINES, DEADLINE_READ))
            .select_from(
                CASES.outerjoin(
                    DEADLINES,
                    and_(
                        DEADLINES.c.case_id == CASES.c.id,
                        DEADLINES.c.status != DeadlineStatus.CLOSED,
                    ),
                )
            )
            .where(CASES.c.case_no == bindparam("case_no"))
            .order_by(DEADLINES.c.id)
        )
        self.read_materials = prepare(
            select(*_cols(MATERIALS, MATERIAL_READ))
            .join(CASES, CASES.c.id == MATERIALS.c.case_id)
            .where(CASES.c.case_no == bindparam("case_no"))
            .order_by(MATERIALS.c.id)
        )
        # The material slots with a scanned file (read with the materials).
        self.read_scanned = prepare(
            select(FILES.c.slot)
            .distinct()
            .join(CASES, CASES.c.id == FILES.c.case_id)
            .where(CASES.c.case_no == bindparam("case_no"))
        )
        # An action's writes, one statement each (SQLite; PostgreSQL writes with `write`).
        case_id: BindParameter[int] = bindparam("case_id")
        self.move_case = prepare(_move_case())
        self.update_deadline = prepare(
            update(DEADLINES).where(DEADLINES.c.id == bindparam("deadline_id")), MOVING
        )
        self.insert_deadline = prepare(_insert(DEADLINES, case_id=case_id), STARTING)
        self.insert_event = prepare(_insert(EVENTS, case_id=case_id), LINK_COLUMNS)
        self.insert_materials = prepare(_insert(MATERIALS, case_id=case_id), MATERIAL_NEW)
        # A receipt: the new case, and its rows naming it by its number.
        by_no = _by_case_no()
        self.insert_case = prepare(_insert(CASES), CASE_NEW)
        self.insert_deadline_by_no = prepare(_insert(DEADLINES, case_id=by_no), STARTING)
        self.insert_event_by_no = prepare(_insert(EVENTS, case_id=by_no), LINK_COLUMNS)
        self.insert_materials_by_no = prepare(_insert(MATERIALS, case_id=by_no), MATERIAL_NEW)
        counter = (postgresql if self.postgresql else sqlite).insert(_COUNTERS)
        counter_stmt = (
            counter.values(office_id=bindparam("office_id"), day=bindparam("day"), last=1)
            .on_conflict_do_update(
                index_elements=[_COUNTERS.c.office_id, _COUNTERS.c.day],
                set_={"last": _COUNTERS.c.last + 1},
            )
            .returning(_COUNTERS.c.last)
        )
        self.next_number = prepare(counter_stmt)
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
        handles = (
            select(_ROUTES.c.item_id)
            .where(_ROUTES.c.department_id == department, _ROUTES.c.item_id == _ITEMS.c.id)
            .correlate(_ITEMS)
            .exists()
        )
        references = (
            select(
                _ITEMS.c.id,
                _ITEMS.c.name,
                _GUIDES.c.id,
                _GUIDES.c.version,
                department,
                handles,
                _ITEMS.c.batch,
                _ITEMS.c.lead_missing,
                _ITEMS.c.deadline_text,
            )
            .select_from(
                _ITEMS.outerjoin(
                    _GUIDES, and_(_GUIDES.c.item_id == _ITEMS.c.id, _GUIDES.c.version == latest)
                )
            )
            .where(_ITEMS.c.code == bindparam("item_code"))
        )
        self.read_references = prepare(references)
        # PostgreSQL: the references and the next number in one statement (the number is
        # taken whether or not the item exists; the transaction rolls back if it does not).
        self.open_receipt: Statement | None = None
        if self.postgresql:
            number = counter_stmt.cte("number")
            self.open_receipt = prepare(
                references.add_columns(select(number.c.last).scalar_subquery()).add_cte(number)
            )

    def compiled(self) -> list[Statement]:
        """Every statement compiled so far (the write and receipt shapes as they were used)."""
        fixed = [v for v in vars(self).values() if isinstance(v, Statement)]
        return [*fixed, *self._writes.values(), *self._receipts.values()]

    def cursor(self, driver: Any) -> Any:
        """A cursor of the driver connection `driver` that takes these statements."""
        return driver.cursor() if self.cursor_class is None else self.cursor_class(driver)

    def receipt(self, *, hands_in: bool) -> Statement:
        """PostgreSQL: a new case and every row it starts with, in one statement."""
        made = self._receipts.get(hands_in)
        if made is None:
            made = self._receipts[hands_in] = self._prepare(_receipt(hands_in))
        return made

    def _prepare(self, stmt: ClauseElement, keys: Sequence[str] | None = None) -> Statement:
        return Statement(stmt, self._dialect, keys)

    def write(self, *, moves: bool, opens: bool, hands_in: bool) -> Statement:
        """PostgreSQL: all of an action's writes in one statement, which commits by itself.

        The case's UPDATE (at the version it was read at) is a CTE, and every other write
        selects from it: at a stale version it moves no row, so nothing is written at all.
        The statement returns how many case rows moved (0 or 1). Its shape depends on
        whether the action moves a deadline, opens one and hands in materials; each shape
        is compiled once.
        """
        shape = (moves, opens, hands_in)
        made = self._writes.get(shape)
        if made is None:
            made = self._writes[shape] = self._prepare(_write(*shape))
        return made


def _rows_of(case: CTE, table: Table, columns: Sequence[str], prefix: str, name: str) -> CTE:
    """INSERT into `table` one row for the case `case` returns, its values given by
    `prefix + column`."""
    return (
        insert(table)
        .from_select(["case_id", *columns], select(case.c.id, *_binds(table, columns, prefix)))
        .returning(table.c.id)
        .cte(name)
    )


def _materials_of(case: CTE) -> CTE:
    """INSERT one material row per entry of the arrays m_code, m_name, ... for `case`."""
    arrays = [bindparam(f"m_{n}", type_=ARRAY(MATERIALS.c[n].type)) for n in MATERIAL_READ]
    rows = func.unnest(*arrays).table_valued(*MATERIAL_READ).render_derived()
    return (
        insert(MATERIALS)
        .from_select(
            ["case_id", *MATERIAL_NEW],
            select(case.c.id, *(rows.c[n] for n in MATERIAL_READ), literal({}, JSON)),
        )
        .returning(MATERIALS.c.id)
        .cte("new_materials")
    )


def _write(moves: bool, opens: bool, hands_in: bool) -> ClauseElement:
    moved = _move_case().returning(CASES.c.id).cte("moved")
    ctes = [_rows_of(moved, EVENTS, LINK_COLUMNS, "e_", "event")]
    if moves:
        ctes.append(
            update(DEADLINES)
            .where(DEADLINES.c.id == bindparam("deadline_id"), DEADLINES.c.case_id == moved.c.id)
            .values(dict(zip(MOVING, _binds(DEADLINES, MOVING, "d_"), strict=True)))
            .returning(DEADLINES.c.id)
            .cte("moved_deadline")
        )
    if opens:
        ctes.append(_rows_of(moved, DEADLINES, STARTING, "n_", "new_deadline"))
    if hands_in:
        ctes.append(_materials_of(moved))
    return select(func.count()).select_from(moved).add_cte(*ctes)


def _receipt(hands_in: bool) -> ClauseElement:
    """PostgreSQL: a new case and every row it starts with, in one statement."""
    values = dict(zip(CASE_NEW, _binds(CASES, CASE_NEW, "c_"), strict=True))
    case = insert(CASES).values(values).returning(CASES.c.id).cte("new_case")
    ctes = [
        _rows_of(case, DEADLINES, STARTING, "n_", "new_deadline"),
        _rows_of(case, EVENTS, LINK_COLUMNS, "e_", "event"),
    ]
    if hands_in:
        ctes.append(_materials_of(case))
    return select(func.count()).select_from(case).add_cte(*ctes)
