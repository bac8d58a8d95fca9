"""The floor under the service layer: the exact statements one lifecycle issues, recorded at
the driver and replayed on the bare driver (psycopg, or the standard library's sqlite3).

Recording wraps the driver connection the engine opens: every statement with its
parameters, every pipeline (statements sent together on PostgreSQL), every commit and
rollback, and what each read returned. Replaying sends the same statements, grouped the
same way, for a fresh case each time: the case number and the ids the reads return (case,
deadlines) are the only values that change. What is left between the service-layer rate
and the replay rate is the cost of the Python above the driver.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tongban.services.cases.statements import READ_CASE_IDS, Statements


@dataclass
class Call:
    sql: str
    params: Any  # a mapping, or a list of them (executemany)
    many: bool = False
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # what it returned


@dataclass
class Batch:
    """Statements sent together (one pipeline) or one by one."""

    pipelined: bool
    calls: list[Call] = field(default_factory=list)


@dataclass
class Transaction:
    batches: list[Batch] = field(default_factory=list)
    commit: bool = True


@dataclass
class Recording:
    """What the driver saw, transaction by transaction."""

    transactions: list[Transaction] = field(default_factory=list)
    on: bool = False
    _open: Transaction | None = None
    _pipeline: Batch | None = None

    def call(self, call: Call) -> None:
        if not self.on:
            return
        if self._open is None:
            self._open = Transaction()
        if self._pipeline is not None:
            self._pipeline.calls.append(call)
        else:
            self._open.batches.append(Batch(False, [call]))

    def pipeline(self) -> Batch | None:
        if not self.on:
            return None
        self._pipeline = Batch(True)
        return self._pipeline

    def pipeline_done(self, batch: Batch | None) -> None:
        if batch is not None and self.on:
            if self._open is None:
                self._open = Transaction()
            self._open.batches.append(batch)
        self._pipeline = None

    def end(self, commit: bool) -> None:
        if self.on and self._open is not None:
            self._open.commit = commit
            self.transactions.append(self._open)
        self._open = None

    @property
    def statements(self) -> int:
        return sum(len(b.calls) for t in self.transactions for b in t.batches)


# --- recording drivers --------------------------------------------------------------------


def _copy(params: Any) -> Any:
    # Named parameters (the write path's) may be rewritten per case; positional ones are kept.
    return dict(params) if isinstance(params, Mapping) else params


def _recorded(recording: Recording, sql: str, params: Any, many: bool) -> Call:
    call = Call(sql, [_copy(p) for p in params] if many else _copy(params), many)
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


def psycopg_creator(conninfo: str, recording: Recording) -> Callable[[], psycopg.Connection[Any]]:
    """A `creator` for create_engine: psycopg connections that record what they run."""

    class Cursor(_Returns, psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            self._call = _recorded(recording, str(query), params, many=False)
            return super().execute(query, params, **kw)

        def executemany(self, query: Any, params_seq: Any, **kw: Any) -> None:
            params = list(params_seq)
            _recorded(recording, str(query), params, many=True)
            super().executemany(query, params, **kw)

    class Connection(psycopg.Connection[Any]):
        def commit(self) -> None:
            super().commit()
            recording.end(commit=True)

        def rollback(self) -> None:
            super().rollback()
            recording.end(commit=False)

        @contextmanager
        def pipeline(self) -> Iterator[Any]:
            batch = recording.pipeline()
            with super().pipeline() as p:
                yield p
            recording.pipeline_done(batch)

    def create() -> psycopg.Connection[Any]:
        return Connection.connect(conninfo, cursor_factory=Cursor)

    return create


def sqlite_connection_class(recording: Recording) -> type[sqlite3.Connection]:
    """A `factory` for sqlite3.connect: connections that record what they run."""

    class Cursor(_Returns, sqlite3.Cursor):
        def execute(self, sql: str, params: Any = (), /) -> Any:
            self._call = _recorded(recording, sql, params, many=False)
            return super().execute(sql, params)

        def executemany(self, sql: str, params: Any, /) -> Any:
            rows = list(params)
            _recorded(recording, sql, rows, many=True)
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

    def params(self, params: Any, case_no: str) -> Any:
        if not isinstance(params, Mapping):
            return params
        out = dict(params)
        if "case_no" in out:
            out["case_no"] = case_no
        for name in ("case_id", "deadline_id"):
            if name in out:
                out[name] = self.seen.get(out[name], out[name])
        return out


class Replay:
    """Sends a recording's transactions on a bare driver connection, one case per run."""

    def __init__(self, recording: Recording, statements: Statements) -> None:
        self.recording = recording
        # The read whose rows carry the ids later statements use: the case's, then each
        # open deadline's after the case's own columns.
        self._read_case = statements.read_case.sql

    def run(self, conn: Any, case_no: str, *, pipelines: bool) -> None:
        ids = _Ids()
        for tx in self.recording.transactions:
            for batch in tx.batches:
                pipe = conn.pipeline() if pipelines and batch.pipelined else nullcontext()
                cursors = []
                with pipe:
                    for call in batch.calls:
                        cursor = conn.cursor()
                        if call.many:
                            cursor.executemany(
                                call.sql, [ids.params(p, case_no) for p in call.params]
                            )
                        else:
                            cursor.execute(call.sql, ids.params(call.params, case_no))
                        cursors.append((call, cursor))
                for call, cursor in cursors:
                    if call.rows or call.sql == self._read_case:
                        rows = cursor.fetchall() if cursor.description else []
                        if call.sql == self._read_case:
                            ids.learn(call.rows, rows)
            if tx.commit:
                conn.commit()
            else:
                conn.rollback()

    def rate(
        self, conn: Any, runs: int, transitions_per_run: int, *, pipelines: bool, prefix: str
    ) -> float:
        """Transitions per second over `runs` replays, each for a fresh case number."""
        began = time.perf_counter()
        for k in range(runs):
            self.run(conn, f"{prefix}-{k:06d}", pipelines=pipelines)
        return runs * transitions_per_run / (time.perf_counter() - began)
