"""The floor under the service layer: the exact statements one lifecycle issues, recorded at
the driver and replayed on the bare driver (psycopg, or the standard library's sqlite3).

Recording wraps the driver connections the engine opens: every statement with its
parameters (the write path's on psycopg's RawCursor, anything else on the connection's own
cursors), every commit and rollback, and what each read returned. Replaying sends the same
statements in the same transactions for a fresh case each time: the case number and the
ids the case read returns (case, deadlines) are the only values that change. What is left
between the service-layer rate and the replay rate is the cost of the Python above the
driver.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tongban.services.cases.statements import READ_CASE_IDS, Statement, Statements


@dataclass
class Call:
    sql: str
    params: Any  # the driver's parameters, or a list of them (executemany)
    many: bool = False
    raw: bool = False  # sent on psycopg's RawCursor
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # what it returned


@dataclass
class Transaction:
    """Calls up to a commit or rollback of the driver connection."""

    calls: list[Call] = field(default_factory=list)
    commit: bool = True


@dataclass
class Recording:
    """What the driver saw, transaction by transaction."""

    transactions: list[Transaction] = field(default_factory=list)
    on: bool = False
    _open: Transaction | None = None

    def call(self, call: Call) -> None:
        if self.on:
            if self._open is None:
                self._open = Transaction()
            self._open.calls.append(call)

    def end(self, commit: bool) -> None:
        if self.on and self._open is not None:
            self._open.commit = commit
            self.transactions.append(self._open)
        self._open = None

    @property
    def statements(self) -> int:
        return sum(len(t.calls) for t in self.transactions)


# --- recording drivers --------------------------------------------------------------------


def _copy(params: Any) -> Any:
    if isinstance(params, Mapping):
        return dict(params)
    return list(params) if isinstance(params, Sequence) else params


def _recorded(recording: Recording, sql: str, params: Any, many: bool, raw: bool) -> Call:
    call = Call(sql, [_copy(p) for p in params] if many else _copy(params), many, raw)
    recording.call(call)
    return call


class _Returns:
    """Remembers, on the call it recorded last, what a cursor's reads returned."""

    _call: Call | None = None

    def fetchone(self) -> Any:
        row = super().fetchone()  # type: ignore[misc]
        if row is not None and self._call is not None:
            self._call.rows.append(tuple(row))
        return row

    def fetchall(self) -> list[Any]:
        rows: list[Any] = super().fetchall()  # type: ignore[misc]
        if self._call is not None:
            self._call.rows.extend(tuple(r) for r in rows)
        return rows


def _recording_cursor(base: type[Any], recording: Recording, raw: bool) -> type[Any]:
    class Cursor(_Returns, base):  # type: ignore[misc]
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            self._call = _recorded(recording, str(query), params, many=False, raw=raw)
            return super().execute(query, params, **kw)

        def executemany(self, query: Any, params_seq: Any, **kw: Any) -> None:
            params = list(params_seq)
            _recorded(recording, str(query), params, many=True, raw=raw)
            super().executemany(query, params, **kw)

    return Cursor


def psycopg_recorder(
    conninfo: str, recording: Recording
) -> tuple[Callable[[], psycopg.Connection[Any]], type[Any]]:
    """A `creator` for create_engine whose psycopg connections record what they run, and
    the RawCursor class the write path should use (`Statements.cursor_class`)."""

    class Connection(psycopg.Connection[Any]):
        def commit(self) -> None:
            super().commit()
            recording.end(commit=True)

        def rollback(self) -> None:
            super().rollback()
            recording.end(commit=False)

    cursor = _recording_cursor(psycopg.Cursor, recording, raw=False)

    def create() -> psycopg.Connection[Any]:
        return Connection.connect(conninfo, cursor_factory=cursor)

    return create, _recording_cursor(psycopg.RawCursor, recording, raw=True)


def sqlite_connection_class(recording: Recording) -> type[sqlite3.Connection]:
    """A `factory` for sqlite3.connect: connections that record what they run."""

    class Cursor(_Returns, sqlite3.Cursor):
        def execute(self, sql: str, params: Any = (), /) -> Any:
            self._call = _recorded(recording, sql, params, many=False, raw=False)
            return super().execute(sql, params)

        def executemany(self, sql: str, params: Any, /) -> Any:
            rows = list(params)
            _recorded(recording, sql, rows, many=True, raw=False)
            return super().executemany(sql, rows)

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = None) -> Any:
            return super().cursor(factory or Cursor)

        def commit(self) -> None:
            super().commit()
            recording.end(commit=True)

        def rollback(self) -> None:
            super().rollback()
            recording.end(commit=False)

    return Connection


# --- replaying ----------------------------------------------------------------------------

# The values a replay changes, by the key the write path gives them under.
_CASE_NUMBERS = ("case_no", "c_case_no")
_IDS = ("case_id", "deadline_id")


@dataclass
class _Ids:
    """Recorded ids and the ones the replay's reads returned in their place."""

    seen: dict[int, int] = field(default_factory=dict)

    def learn(
        self, recorded: Sequence[tuple[Any, ...]], replayed: Sequence[tuple[Any, ...]]
    ) -> None:
        for old, new in zip(recorded, replayed, strict=False):
            for column in READ_CASE_IDS:
                if old[column] is not None:
                    self.seen[old[column]] = new[column]


@dataclass(frozen=True)
class _Slots:
    """Where in one statement's parameters the case number and the ids go."""

    case_no: list[int | str]
    ids: list[int | str]

    @classmethod
    def of(cls, stmt: Statement) -> _Slots:
        return cls(
            [s for key in _CASE_NUMBERS for s in stmt.slots(key)],
            [s for key in _IDS for s in stmt.slots(key)],
        )

    def fill(self, params: Any, case_no: str, ids: _Ids) -> Any:
        out = dict(params) if isinstance(params, Mapping) else list(params)
        for slot in self.case_no:
            out[slot] = case_no  # type: ignore[index]
        for slot in self.ids:
            old = out[slot]  # type: ignore[index]
            out[slot] = ids.seen.get(old, old)  # type: ignore[index]
        return out


class Replay:
    """Sends a recording's transactions on a bare driver connection, one case per run."""

    def __init__(self, recording: Recording, statements: Statements) -> None:
        self.recording = recording
        self._slots = {s.sql: _Slots.of(s) for s in statements.compiled()}
        # The read whose rows carry the ids later statements use: the case's, then each
        # open deadline's after the case's own columns.
        self._read_case = statements.read_case.sql

    def _params(self, call: Call, case_no: str, ids: _Ids) -> Any:
        slots = self._slots.get(call.sql)
        if slots is None:
            return call.params
        if call.many:
            return [slots.fill(p, case_no, ids) for p in call.params]
        return slots.fill(call.params, case_no, ids)

    def run(self, conn: Any, case_no: str) -> None:
        ids = _Ids()
        plain = conn.cursor()
        raw = psycopg.RawCursor(conn) if isinstance(conn, psycopg.Connection) else plain
        for tx in self.recording.transactions:
            for call in tx.calls:
                cursor = raw if call.raw else plain
                params = self._params(call, case_no, ids)
                if call.many:
                    cursor.executemany(call.sql, params)
                    continue
                cursor.execute(call.sql, params)
                if call.sql == self._read_case:
                    ids.learn(call.rows, cursor.fetchall())
                elif call.rows:
                    cursor.fetchall()
            if tx.commit:
                conn.commit()
            else:
                conn.rollback()

    def rate(self, conn: Any, runs: int, transitions_per_run: int, *, prefix: str) -> float:
        """Transitions per second over `runs` replays, each for a fresh case number."""
        began = time.perf_counter()
        for k in range(runs):
            self.run(conn, f"{prefix}-{k:06d}")
        return runs * transitions_per_run / (time.perf_counter() - began)
