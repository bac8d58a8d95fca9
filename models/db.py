"""Engines, sessions and schema migration (Alembic, shipped inside the package)."""

from __future__ import annotations

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


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 is the driver we install (a bare postgresql:// would ask for psycopg2).
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("isolation_level", "AUTOCOMMIT")
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
