"""Database faults: a database that refuses connections answers 503 with Retry-After (a
Chinese page on the workbench), never 500; /healthz says the process lives, /readyz that it
cannot serve. A runtime pointed at a closed port (PostgreSQL) or at a file in a folder that
does not exist (SQLite) is a real refused database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tongban.api.app import create_app
from tongban.api.security import SESSION_COOKIE
from tongban.models.db import make_engine
from tongban.services.core.config import Settings
from tongban.services.core.runtime import Runtime, open_runtime

from ..conftest import PG_URL
from .conftest import Http, problem_of


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def refused(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    url = (
        f"sqlite:///{tmp_path / 'no-such-folder' / 'tongban.db'}"
        if request.param == "sqlite"
        else "postgresql+psycopg://postgres@127.0.0.1:1/test"
    )
    settings = Settings(
        database_url=url,
        audit_key=secrets.token_hex(32),
        session_secret=secrets.token_hex(32),
        audit_key_file=tmp_path / "audit.key",
        files_dir=tmp_path / "files",
        db_retry_after_seconds=7,
    )
    runtime = open_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def down(refused: Runtime) -> Iterator[Http]:
    client = Http(create_app(refused))
    yield client
    client.close()


def test_a_refused_database_is_503_with_retry_after(down: Http) -> None:
    r = down.post("/api/session", json={"username": "clerk.cz", "password": "tongban-demo"})
    body = problem_of(r, 503, "unavailable")
    assert r.headers["retry-after"] == "7"
    assert "数据库" in body["detail"] and "稍后重试" in body["detail"]
    r = down.get("/api/cases", headers={"Authorization": "Bearer " + "a" * 43})
    problem_of(r, 503, "unavailable")
    assert r.headers["retry-after"] == "7"
    r = down.post(
        "/api/cases/CZ01-20260310-0001/actions/forward",
        json={"version": 1},
        headers={"Authorization": "Bearer " + "a" * 43},
    )
    problem_of(r, 503, "unavailable")


def test_a_refused_database_is_a_chinese_page(down: Http) -> None:
    down.cookies.set(SESSION_COOKIE, "b" * 43)
    r = down.get("/")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["retry-after"] == "7"
    assert "数据库暂时无法连接" in r.text


def test_healthz_lives_readyz_does_not(down: Http) -> None:
    r = down.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = down.get("/readyz")
    problem_of(r, 503, "unavailable")
    assert r.headers["retry-after"] == "7"


def test_readyz_on_a_database_at_head_and_behind(http: Http, rt: Runtime) -> None:
    r = http.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    with rt.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    r = http.get("/readyz")
    body = problem_of(r, 503, "unavailable")
    assert "tongban init" in body["detail"]


@pytest.mark.postgres
def test_postgres_connections_carry_the_timeouts(pg_rt: Runtime) -> None:
    with pg_rt.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "30s"
        # The URL's own options (the test schema's search_path) are kept.
        assert conn.execute(text("SHOW search_path")).scalar().startswith("tb_")
    engine = make_engine(PG_URL, connect_timeout=5, statement_timeout=2)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "2s"
    finally:
        engine.dispose()


def test_every_api_route_but_healthz_documents_503(http: Http) -> None:
    doc = http.get("/api/openapi.json").json()
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            answers = operation["responses"]
            if path == "/healthz":
                assert "503" not in answers
                continue
            assert "503" in answers, (method, path)
            content = answers["503"]["content"]["application/problem+json"]
            assert content["schema"]["properties"]["code"]["type"] == "string"
