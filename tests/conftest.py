"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL (both always run)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tongban.services.config import Settings
from tongban.services.runtime import Runtime, open_runtime

PG_URL = os.environ.get("TONGBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# A fixed instant: a Tuesday in a year the calendar package knows (2026-03-10 09:00 Shanghai).
T0 = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


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
        audit_key_file=tmp_path / "audit.key",
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
    runtime.engine.dispose()


@pytest.fixture
def pg_rt(pg_schema: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(_settings(pg_schema_url(pg_schema), tmp_path), init=True)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def sqlite_rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(_settings(f"sqlite:///{tmp_path / 'tb.db'}", tmp_path), init=True)
    yield runtime
    runtime.engine.dispose()
