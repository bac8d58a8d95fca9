"""The case write path: what an action reads and writes, in as few statements as it can.

An action reads its case with its open deadlines in one statement (and its materials when
its guards look at them); it then writes the case row at the version it read (`WHERE
version = <read>`: zero rows is a stale version, and nothing is written), one audit
event, the deadline moves and any materials handed in. A receipt inserts each row once,
with its final values.

On PostgreSQL, where each statement costs a round trip and driver work, an action's
writes are one statement that commits by itself (`Statements.write`), and a receipt is
two: one reads its item and department and takes the next number, one inserts every row
(then COMMIT). On SQLite, in process, they are plain statements in the unit of work's
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tongban.workflow.deadlines import supplement_ran_out
from tongban.workflow.guards import CaseFacts
from tongban.workflow.guide import GuideConfig, Material
from tongban.workflow.holds import Hold
from tongban.workflow.identity import ApplicantKind, DocumentType
from tongban.workflow.parties import AgentRole
from tongban.workflow.states import State

from ..core.errors import StaleVersion
from ..core.uow import STALE_MESSAGE, UnitOfWork, chain_conflict
from ..deadlines.ops import NewDeadline, Timing
from .parties import agent_of, applicant_of
from .statements import CASE_READ, MATERIAL_READ, Statement

# --- what an action reads -----------------------------------------------------------------


@dataclass(frozen=True)
class OpenDeadline:
    id: int
    timing: Timing


@dataclass(frozen=True)
class StoredCase:
    """A case as an action reads it; its changes are written only at this version."""

    id: int
    case_no: str
    version: int
    state: State
    office_id: int
    department_id: int
    item_id: int
    guide_version_id: int | None
    applicant_kind: ApplicantKind
    applicant_name: str
    applicant_document_type: DocumentType
    applicant_id_number: str
    agent_role: AgentRole | None
    agent_name: str
    agent_document_type: DocumentType | None
    agent_document_number: str
    forwarded_at: datetime | None
    originals_required: bool
    originals_arrived: bool
    audit_seq: int
    audit_head: str
    hold: Hold | None
    hold_since: datetime | None
    hold_until: datetime | None
    originals_returned_at: datetime | None
    deadlines: tuple[OpenDeadline, ...]
    materials: tuple[Material, ...]
    scanned: frozenset[str] = frozenset()  # material slots with a file (read with materials)

    def facts(self, guide: GuideConfig | None, now: datetime) -> CaseFacts:
        return CaseFacts(
            state=self.state,
            originals_required=self.originals_required,
            originals_arrived=self.originals_arrived,
            applicant_kind=self.applicant_kind,
            applicant=applicant_of(self),
            agent=agent_of(self),
            agent_role=self.agent_role,
            handed_in=self.materials,
            guide=guide,
            hold=self.hold,
            originals_returned=self.originals_returned_at is not None,
            supplement_overdue=supplement_ran_out(
                ((d.timing.stage, d.timing.due_at) for d in self.deadlines), now
            ),
            scanned=self.scanned,
        )


@dataclass(frozen=True)
class References:
    """What a receipt needs to know about its item and department."""

    item_id: int
    item_name: str
    guide_id: int | None
    guide_version: int | None
    department_id: int | None
    handles: bool  # the department has declared the item (routing)
    batch: int
    lead_missing: bool
    deadline_text: str | None


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
    forwarded_at: datetime | None = None
    department_id: int | None = None  # set when the case is handed over (转办)
    hold: Hold | None = None  # the hold lasting after the action, and its times
    hold_since: datetime | None = None
    hold_until: datetime | None = None
    returned_at: datetime | None = None  # 原件退还


def _material_values(m: Material) -> dict[str, Any]:
    return {**{name: getattr(m, name) for name in MATERIAL_READ}, "details": {}}


class CaseStore:
    """The write path of one unit of work's open transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._s = uow.rt.statements
        self._cursor = self._s.cursor(uow.driver)
        self._explicit = uow.explicit_transaction
        self._integrity_error: type[Exception] = uow.rt.engine.dialect.loaded_dbapi.IntegrityError

    @contextmanager
    def _conflicts(self) -> Iterator[None]:
        """Two writers appending the same audit event to one case: a stale version."""
        try:
            yield
        except self._integrity_error as err:
            if chain_conflict(err):
                raise StaleVersion(STALE_MESSAGE) from err
            raise

    def _run(self, stmt: Statement, values: Mapping[str, Any]) -> Any:
        self._cursor.execute(stmt.sql, stmt.params(values))
        return self._cursor

    def _run_many(self, stmt: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._cursor.executemany(stmt.sql, [stmt.params(r) for r in rows])

    def load(self, case_no: str, *, materials: bool) -> StoredCase | None:
        """The case numbered `case_no` with its open deadlines and, when asked for, its
        materials."""
        s = self._s
        key = {"case_no": case_no}
        raws = self._run(s.read_case, key).fetchall()
        if not raws:
            return None
        # The columns' result processors give the enums, booleans and aware datetimes.
        rows = [s.read_case.row(raw) for raw in raws]
        width = len(CASE_READ)
        row = dict(zip(CASE_READ, rows[0][:width], strict=True))
        deadlines = []
        for r in rows:
            deadline_id, *timing = r[width:]
            if deadline_id is not None:
                deadlines.append(OpenDeadline(deadline_id, Timing(*timing)))
        handed_in = (
            tuple(
                Material(*s.read_materials.row(m))
                for m in self._run(s.read_materials, key).fetchall()
            )
            if materials
            else ()
        )
        scanned = (
            frozenset(r[0] for r in self._run(s.read_scanned, key).fetchall())
            if materials
            else frozenset()
        )
        arrived_at = row.pop("originals_received_at")
        return StoredCase(
            **row,
            originals_arrived=arrived_at is not None,
            deadlines=tuple(deadlines),
            materials=handed_in,
            scanned=scanned,
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
        """Write an action's changes (PostgreSQL: and commit them); False, with nothing
        written, when the case's version moved since it was read."""
        ref = {"case_id": case.id, "read_version": case.version, "new_version": case.version + 1}
        row = {
            "state": move.state,
            "now": move.now,
            "seq": move.seq,
            "mac": move.mac,
            "required": move.originals_required,
            "closed_at": move.closed_at,
            "decision": move.decision,
            "arrived_at": move.arrived_at,
            "forwarded_at": move.forwarded_at,
            "department_id": move.department_id,
            "hold": move.hold,
            "hold_since": move.hold_since,
            "hold_until": move.hold_until,
            "returned_at": move.returned_at,
        }
        with self._conflicts():
            if not self._explicit:
                return self._write_in_turn(ref | row, event, moved, opened, materials)
            if len(moved) <= 1 and len(opened) <= 1:
                return self._write_at_once(ref | row, event, moved, opened, materials)
            return self._write_in_transaction(ref | row, event, moved, opened, materials)

    def _write_at_once(
        self,
        values: dict[str, Any],
        event: Mapping[str, Any],
        moved: Sequence[OpenDeadline],
        opened: Sequence[NewDeadline],
        materials: Sequence[Material],
    ) -> bool:
        # One statement of each kind at most: most transitions close, pause or resume one
        # deadline and open at most one (workflow.deadlines.deadline_changes).
        assert len(moved) <= 1 and len(opened) <= 1
        stmt = self._s.write(moves=bool(moved), opens=bool(opened), hands_in=bool(materials))
        values |= {f"e_{k}": v for k, v in event.items()}
        for d in moved:
            values |= {"deadline_id": d.id, **{f"d_{k}": v for k, v in d.timing.values().items()}}
        for new in opened:
            values |= {f"n_{k}": v for k, v in new.values().items()}
        if materials:
            rows = [_material_values(m) for m in materials]
            values |= {f"m_{name}": [r[name] for r in rows] for name in MATERIAL_READ}
        cursor = self._run(stmt, values)
        return bool(cursor.fetchone()[0] == 1)

    def _write_in_transaction(
        self,
        values: dict[str, Any],
        event: Mapping[str, Any],
        moved: Sequence[OpenDeadline],
        opened: Sequence[NewDeadline],
        materials: Sequence[Material],
    ) -> bool:
        """PostgreSQL, for the few actions that move two deadlines at once (a supplement
        resumes its stage and closes the applicant's period): the plain statements inside
        a transaction of their own."""
        self._cursor.execute("BEGIN")
        try:
            written = self._write_in_turn(values, event, moved, opened, materials)
        except BaseException:
            self._cursor.execute("ROLLBACK")
            raise
        self._cursor.execute("COMMIT" if written else "ROLLBACK")
        return written

    def _write_in_turn(
        self,
        values: dict[str, Any],
        event: Mapping[str, Any],
        moved: Sequence[OpenDeadline],
        opened: Sequence[NewDeadline],
        materials: Sequence[Material],
    ) -> bool:
        s = self._s
        if self._run(s.move_case, values).rowcount != 1:
            return False
        ref = {"case_id": values["case_id"]}
        self._run(s.insert_event, {**ref, **event})
        for d in moved:
            self._run(s.update_deadline, {"deadline_id": d.id, **d.timing.values()})
        for new in opened:
            self._run(s.insert_deadline, ref | new.values())
        self._run_many(s.insert_materials, [ref | _material_values(m) for m in materials])
        return True

    # --- receipt ----------------------------------------------------------------------

    def open_receipt(
        self, *, item_code: str, department_code: str, office_id: int, day: date
    ) -> tuple[References | None, int]:
        """Begin a receipt: what it needs to know of its item and department, and the next
        number of the office's day (given back if the receipt is refused: the transaction
        rolls back)."""
        s = self._s
        refs = {"item_code": item_code, "department_code": department_code}
        number = {"office_id": office_id, "day": day}
        with self._conflicts():
            if s.open_receipt is not None:  # PostgreSQL: its own transaction, one statement
                self._cursor.execute("BEGIN")
                found = self._run(s.open_receipt, refs | number).fetchone()
                if found is None:
                    return None, 0
                *references, seq = s.open_receipt.row(found)
                return References(*references), int(seq)
            found = self._run(s.read_references, refs).fetchone()
            seq = int(self._run(s.next_number, number).fetchone()[0])
        return (References(*s.read_references.row(found)) if found else None), seq

    def insert(
        self,
        case: Mapping[str, Any],
        event: Mapping[str, Any],
        deadline: NewDeadline,
        materials: Sequence[Material],
    ) -> None:
        """A new case with everything it starts with, each row inserted once (PostgreSQL:
        in one statement, then committed)."""
        s = self._s
        rows = [_material_values(m) for m in materials]
        with self._conflicts():
            if self._explicit:
                values = (
                    {f"c_{k}": v for k, v in case.items()}
                    | {f"e_{k}": v for k, v in event.items()}
                    | {f"n_{k}": v for k, v in deadline.values().items()}
                    | {f"m_{name}": [r[name] for r in rows] for name in MATERIAL_READ}
                )
                self._run(s.receipt(hands_in=bool(rows)), values)
                self._cursor.execute("COMMIT")
                return
            ref = {"case_no": case["case_no"]}
            self._run(s.insert_case, case)
            self._run_many(s.insert_materials_by_no, [ref | r for r in rows])
            self._run(s.insert_deadline_by_no, ref | deadline.values())
            self._run(s.insert_event_by_no, {**ref, **event})
