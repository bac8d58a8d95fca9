"""`tongban init` and the Alembic migrations, on a SQLite file and on a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from tongban.models import Base, Case, Deadline, GuideVersion, Item
from tongban.models.db import alembic_config, make_engine
from tongban.services.core.runtime import Runtime

from ..conftest import pg_schema_url
from ..world import build_world, diploma_application

TONGBAN = Path(sys.executable).parent / "tongban"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return pg_schema_url(request.getfixturevalue("pg_schema"))


def tongban(url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    return subprocess.run(
        [str(TONGBAN), *args],
        env=clean | {"TONGBAN_DATABASE_URL": url} | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def app_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_init_upgrades_to_head_creates_the_key_and_is_idempotent(
    fresh_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "tongban-audit.key"
    first = tongban(fresh_url, tmp_path, "init")
    assert first.returncode == 0, first.stdout + first.stderr
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="utf-8").strip()
    assert len(bytes.fromhex(key)) >= 16

    engine = make_engine(fresh_url)
    try:
        assert current(engine) == head(engine) is not None
        assert app_tables(engine) >= set(Base.metadata.tables)

        def counts() -> tuple[int | None, int | None]:
            with engine.connect() as conn:
                return (
                    conn.scalar(select(func.count()).select_from(Item)),
                    conn.scalar(select(func.count()).select_from(GuideVersion)),
                )

        loaded = counts()
        assert loaded[0] and loaded[1]

        second = tongban(fresh_url, tmp_path, "init")
        assert second.returncode == 0, second.stdout + second.stderr
        assert key_file.read_text(encoding="utf-8").strip() == key  # the key is kept
        assert current(engine) == head(engine)
        assert counts() == loaded  # nothing loaded twice
    finally:
        engine.dispose()

    # Later commands find the key file init wrote.
    verify = tongban(fresh_url, tmp_path, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_init_with_a_configured_key_writes_no_key_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keyed.db'}"
    done = tongban(url, tmp_path, "init", TONGBAN_AUDIT_KEY="ab" * 32)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "tongban-audit.key").exists()


def test_commands_without_a_key_say_how_to_get_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nokey.db'}"
    done = tongban(url, tmp_path, "audit", "verify")
    assert done.returncode != 0
    assert "config.audit_key_missing" in done.stderr
    assert "tongban init" in done.stderr


def test_downgrade_to_base_and_upgrade_to_head(rt: Runtime) -> None:
    world = build_world(rt)
    world.receive(diploma_application(), "clerk.cz")
    engine = rt.engine
    cfg = alembic_config(engine)
    command.downgrade(cfg, "base")
    assert current(engine) is None
    assert app_tables(engine) == set()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert (
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_proc p"
                        " JOIN pg_namespace n ON n.oid = p.pronamespace"
                        " WHERE p.proname = 'tongban_audit_append_only'"
                        " AND n.nspname = current_schema()"
                    )
                )
                == 0
            )

    command.upgrade(cfg, "head")
    assert current(engine) == head(engine)
    assert app_tables(engine) >= set(Base.metadata.tables)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            triggers = set(
                conn.scalars(
                    text(
                        "SELECT tgname FROM pg_trigger "
                        "WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
                    )
                )
            )
        assert triggers == {"audit_events_no_update_delete", "audit_events_no_truncate"}

    # The schema works again from scratch.
    again = build_world(rt)
    case_no = again.receive(diploma_application(), "clerk.cz")
    assert case_no.endswith("-0001")


def alert_links(engine: Engine, column: str) -> None:
    """alerts names its deadline by `column`, with the unique key of exactly-once alerts
    and the foreign key to deadlines named after it (and no trace of the other name)."""
    other = {"deadline_id": "clock_id", "clock_id": "deadline_id"}[column]
    found = inspect(engine)
    columns = {c["name"] for c in found.get_columns("alerts")}
    assert column in columns and other not in columns, columns
    uniques = {u["name"]: u["column_names"] for u in found.get_unique_constraints("alerts")}
    assert uniques == {
        f"uq_alerts_{column}_kind_level": [column, "kind", "level"],
        "uq_alerts_unit_key_kind_level": ["unit_key", "kind", "level"],
    }, uniques
    keys = {
        f["name"]: (f["constrained_columns"], f["referred_table"])
        for f in found.get_foreign_keys("alerts")
    }
    assert keys[f"fk_alerts_{column}_deadlines"] == ([column], "deadlines"), keys
    assert not any(other in name for name in keys), keys


def test_0003_renames_clock_id_to_deadline_id_both_ways_keeping_alerts(rt: Runtime) -> None:
    world = build_world(rt)
    no = world.receive(diploma_application(), "clerk.cz")
    engine = rt.engine
    with rt.uow() as uow:
        deadline = uow.session.scalars(
            select(Deadline.id).join(Case, Case.id == Deadline.case_id).where(Case.case_no == no)
        ).one()

    def add_alert(column: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO alerts (kind, level, {column}, recipients, details, created_at)"
                    " VALUES ('warning', 0, :d, '[]', '{}', CURRENT_TIMESTAMP)"
                ),
                {"d": deadline},
            )

    def alerted(column: str) -> list[int]:
        with engine.connect() as conn:
            return list(conn.scalars(text(f"SELECT {column} FROM alerts ORDER BY id")))

    assert current(engine) == head(engine)
    alert_links(engine, "deadline_id")
    add_alert("deadline_id")
    with pytest.raises(IntegrityError):
        add_alert("deadline_id")  # one warning per deadline, whatever the sweepers do

    cfg = alembic_config(engine)
    command.downgrade(cfg, "0002")
    assert current(engine) == "0002"
    alert_links(engine, "clock_id")
    assert alerted("clock_id") == [deadline]
    with pytest.raises(IntegrityError):
        add_alert("clock_id")

    command.upgrade(cfg, "head")
    assert current(engine) == head(engine)
    alert_links(engine, "deadline_id")
    assert alerted("deadline_id") == [deadline]
    with pytest.raises(IntegrityError):
        add_alert("deadline_id")


def test_0004_backfills_document_types_and_the_first_forward(rt: Runtime) -> None:
    world = build_world(rt)
    forwarded = world.receive(diploma_application(), "clerk.cz")
    world.forward(forwarded)
    waiting = world.receive(diploma_application("124"), "clerk.cz")
    engine = rt.engine
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0003")
    with engine.begin() as conn:  # a company case, as 0003 stored it
        conn.execute(
            text("UPDATE cases SET applicant_kind = 'company' WHERE case_no = :no"),
            {"no": waiting},
        )
    command.upgrade(cfg, "0004")
    with engine.connect() as conn:
        rows = {
            no: (kind, forwarded_at)
            for no, kind, forwarded_at in conn.execute(
                text("SELECT case_no, applicant_document_type, forwarded_at FROM cases")
            )
        }
        forward_at = conn.scalar(
            text(
                "SELECT e.at FROM audit_events e JOIN cases c ON c.id = e.case_id"
                " WHERE c.case_no = :no AND e.action = 'forward'"
            ),
            {"no": forwarded},
        )
    assert rows[forwarded][0] == "resident_id" and rows[forwarded][1] == forward_at
    assert rows[waiting] == ("credit_code", None)
