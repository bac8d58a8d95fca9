"""`tongban bench transitions`: the replay does the work the service layer did, and the run
ends with the line machines read."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from tongban.benchmarks.transitions import (
    SCANNED,
    TRANSITIONS_PER_LIFECYCLE,
    bare_connection,
    record_lifecycle,
    run_transitions_bench,
)

from ..conftest import PG_URL, pg_schema_url

_CASE = "SELECT id, state, version, audit_seq, closed_at IS NOT NULL FROM cases WHERE case_no = {}"
_ROWS = (
    "SELECT (SELECT count(*) FROM audit_events WHERE case_id = {id}),"
    " (SELECT count(*) FROM deadlines WHERE case_id = {id}),"
    " (SELECT count(*) FROM deadlines WHERE case_id = {id} AND status = 'closed'),"
    " (SELECT count(*) FROM case_materials WHERE case_id = {id})"
)


def _case(conn: Any, case_no: str, mark: str) -> tuple[Any, ...]:
    """What a lifecycle left of case `case_no`: its row, and how many events, deadlines
    (closed ones too) and materials it has."""
    row = conn.execute(_CASE.format(mark), (case_no,)).fetchone()
    assert row is not None, case_no
    counts = conn.execute(_ROWS.format(id=int(row[0]))).fetchone()
    return (*row[1:], *counts)


def _replay_matches_the_service(url: str, mark: str) -> None:
    replay = record_lifecycle(url)
    recorded = replay.recording
    assert recorded.statements > TRANSITIONS_PER_LIFECYCLE
    conn = bare_connection(url)
    try:
        last = conn.execute("SELECT case_no FROM cases ORDER BY id DESC LIMIT 1").fetchone()[0]
        replay.run(conn, "REPLAY-1")
        replay.run(conn, "REPLAY-2")
        state, version, seq, closed, events, *rest = _case(conn, last, mark)
        assert state == "completed" and version == TRANSITIONS_PER_LIFECYCLE
        # The service-layer case also has its scans' upload events, which the recording
        # leaves out (an upload moves the chain, not the version): the replay is the
        # transitions alone, the chain's head where the service left it.
        assert events == TRANSITIONS_PER_LIFECYCLE + len(SCANNED)
        original = (state, version, seq, closed, TRANSITIONS_PER_LIFECYCLE, *rest)
        assert _case(conn, "REPLAY-1", mark) == original
        assert _case(conn, "REPLAY-2", mark) == original
    finally:
        conn.close()


def test_sqlite_replay_does_what_the_service_layer_did(tmp_path: Path) -> None:
    _replay_matches_the_service(f"sqlite:///{tmp_path / 'replay.db'}", "?")


@pytest.mark.postgres
def test_postgres_replay_does_what_the_service_layer_did(pg_schema: str) -> None:
    _replay_matches_the_service(pg_schema_url(pg_schema), "%s")


def test_sqlite_run_ends_with_its_figure() -> None:
    out = io.StringIO()
    figures = run_transitions_bench(cases=2, postgres_url=None, out=out)
    assert figures["sqlite_tps"] > 0 and figures["sqlite_raw_tps"] > 0
    assert out.getvalue().splitlines()[-1] == f"bench: sqlite_tps={figures['sqlite_tps']:.0f}"


@pytest.mark.postgres
def test_postgres_run_ends_with_the_machine_readable_line(pg_schema: str) -> None:
    out = io.StringIO()
    figures = run_transitions_bench(cases=2, postgres_url=PG_URL, out=out, pgbench_seconds=1)
    last = out.getvalue().splitlines()[-1]
    match = re.fullmatch(
        r"bench: sqlite_tps=(\d+) pg_tps=(\d+) pg_raw_tps=(\d+) pgbench_tps=(\d+) "
        r"pg_vs_pgbench=(\d+\.\d\d) pg_vs_raw=(\d+\.\d\d) pg_2proc_speedup=(\d+\.\d\d)",
        last,
    )
    assert match is not None, last
    assert int(match[2]) == round(figures["pg_tps"]) > 0
    assert float(match[6]) == pytest.approx(figures["pg_tps"] / figures["pg_raw_tps"], abs=0.01)
    assert figures["pg_2proc_tps"] > 0
