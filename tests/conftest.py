"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL.

Tests that need PostgreSQL (marked `postgres`, or using its fixtures) or Chromium (marked
`browser`) run wherever those are; on a machine without them they are left out, with one
line at the end saying what is missing and how to provide it. Under CI=true nothing is left
out: a missing PostgreSQL or Chromium fails the run at once.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tongban.services.core.config import Settings
from tongban.services.core.runtime import Runtime, open_runtime

PG_URL = os.environ.get("TONGBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# A fixed instant: a Tuesday in a year the calendar package knows (2026-03-10 09:00 Shanghai).
T0 = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
_PG_FIXTURES = {"pg_schema", "pg_rt"}


def _postgres_missing() -> str | None:
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        return (
            f"PostgreSQL at {PG_URL} does not answer: start one there (trust auth, "
            "database test) or point TONGBAN_TEST_PG_URL at another"
        )
    finally:
        engine.dispose()
    return None


def _chromium_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium, or set TONGBAN_CHROMIUM"
    fonts = (
        shutil.which("fc-list")
        and subprocess.run(
            ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    if not fonts:
        return "no Chinese font to render the workbench: apt-get install fonts-noto-cjk"
    return None


def _needs(item: pytest.Item) -> set[str]:
    needs = set()
    if item.get_closest_marker("postgres") or _PG_FIXTURES & set(getattr(item, "fixturenames", ())):
        needs.add("PostgreSQL")
    if item.get_closest_marker("browser"):
        needs.add("Chromium")
    return needs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set().union(*(_needs(item) for item in items)) if items else set()
    probes = {"PostgreSQL": _postgres_missing, "Chromium": _chromium_missing}
    missing = {need: why for need in sorted(wanted) if (why := probes[need]())}
    if not missing:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true, and " + "; ".join(missing.values()) + ".")
    left_out = [item for item in items if _needs(item) & missing.keys()]
    items[:] = [item for item in items if item not in left_out]
    config.hook.pytest_deselected(items=left_out)
    counts = {need: sum(need in _needs(i) for i in left_out) for need in missing}
    config.stash[_LEFT_OUT] = [
        f"{counts[need]} test(s) needing {need} left out: {why}." for need, why in missing.items()
    ]


_LEFT_OUT = pytest.StashKey[list[str]]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(_LEFT_OUT, []):
        terminalreporter.write_line(line, yellow=True)


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A throwaway schema, so reruns and parallel runs never see each other's rows."""
    schema = f"tb_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        audit_key=secrets.token_hex(32),
        session_secret=secrets.token_hex(32),
        audit_key_file=tmp_path / "audit.key",
        files_dir=tmp_path / "files",
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tongban.db'}"
    schema: str = request.getfixturevalue("pg_schema")
    return pg_schema_url(schema)


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(_settings(db_url, tmp_path), init=True)
    yield runtime
    runtime.close()


@pytest.fixture
def pg_rt(pg_schema: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(_settings(pg_schema_url(pg_schema), tmp_path), init=True)
    yield runtime
    runtime.close()


@pytest.fixture
def sqlite_rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(_settings(f"sqlite:///{tmp_path / 'tb.db'}", tmp_path), init=True)
    yield runtime
    runtime.close()
