"""Engines, sessions and schema migration (Alembic, shipped inside the package)."""

from __future__ import annotations

import os
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = "tongban.models:migrations"


# What a connection's transaction is for, as an execution option: "write" (the default),
# "read" (only reads), or "statements" (its statements begin and end their own transaction
# on PostgreSQL; see services.core.uow).
TRANSACTION = "tongban_transaction"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is off: _begin says when a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets reading transactions run beside the one writer; NORMAL sync is durable
    # across an app crash (only an OS crash may lose the last commits); the busy timeout
    # makes a second writer wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin(conn: Connection) -> None:
    """Begin the transaction SQLAlchemy is beginning, as its use asks.

    SQLite: a writing transaction takes the write lock at once (IMMEDIATE), so a read-then-
    write never fails midway on a lock upgrade and writers queue on the busy timeout; a
    reading one begins DEFERRED and, with WAL, reads beside the writer.
    PostgreSQL (its driver connections are in autocommit mode): a writing transaction sends
    BEGIN; a reading one sends nothing, since each statement reads committed data either
    way (READ COMMITTED) and BEGIN and ROLLBACK would be two more round trips; "statements"
    leaves it to the statements, which then commit in the same round trip as the writes.
    """
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # asked for by name (VACUUM, CREATE DATABASE): no transaction at all
    kind = options.get(TRANSACTION, "write")
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        driver.execute("BEGIN" if kind == "read" else "BEGIN IMMEDIATE")
    elif kind == "write":
        driver.execute("BEGIN")


def _private_sqlite_file(database: str | None) -> None:
    """Create a SQLite database file readable by its owner only (0600) before SQLite does
    (it would follow the umask, usually 0644). SQLite gives its -wal and -shm files the
    database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a folder that does not exist: SQLite's own error says it better
    os.fchmod(fd, 0o600)
    os.close(fd)


def make_engine(
    url: str,
    *,
    connect_timeout: int | None = None,
    statement_timeout: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for `url`. On PostgreSQL, `connect_timeout` and `statement_timeout` (seconds)
    bound a connection attempt and each statement, so a database that hangs fails a request
    instead of holding it (the URL's own `options`, such as a search_path, are kept)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_file(parsed.database)
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 is the driver we install (a bare postgresql:// would ask for psycopg2).
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("isolation_level", "AUTOCOMMIT")
        connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
        if connect_timeout is not None:
            connect_args.setdefault("connect_timeout", connect_timeout)
        if statement_timeout is not None:
            given = parsed.query.get("options", "")
            options = " ".join(given) if isinstance(given, tuple) else given
            connect_args.setdefault(
                "options", f"{options} -c statement_timeout={statement_timeout * 1000}".strip()
            )
        kwargs["connect_args"] = connect_args
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _begin)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)
