"""Database faults as people read them, and whether this process is ready to serve.

A database that refuses connections, drops them, times out a statement or leaves no free
connection in the pool is `Unavailable` (HTTP 503 with Retry-After), not an internal error:
the request changed nothing it was told of, and the caller may try again. Anything else the
database raises is a defect and stays one.
"""

from __future__ import annotations

import sqlite3

import psycopg
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tongban.models.db import alembic_config

from .errors import Unavailable

UNAVAILABLE_MESSAGE = (
    "数据库暂时无法连接或响应超时，本次操作未被记录。请稍后重试；如持续出现，请联系管理员。"
)

# SQLite's own words for a database it cannot reach now (others, "no such column", are defects).
_SQLITE_FAULTS = ("unable to open database", "database is locked", "disk i/o error")


def is_database_fault(err: BaseException) -> bool:
    """Whether `err` (SQLAlchemy's or the driver's own) says the database is unreachable."""
    if isinstance(err, PoolTimeout):
        return True
    orig = err.orig if isinstance(err, DBAPIError) else err
    if isinstance(orig, psycopg.OperationalError):
        return True  # refused, dropped, cancelled by statement_timeout, shutting down
    if isinstance(orig, sqlite3.OperationalError):
        return any(words in str(orig).lower() for words in _SQLITE_FAULTS)
    return False


def unavailable(retry_after: int) -> Unavailable:
    return Unavailable(UNAVAILABLE_MESSAGE, retry_after=retry_after)


def readiness(engine: Engine) -> str | None:
    """None when the database answers and its schema is at the newest migration; else why
    not, in Chinese."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except (DBAPIError, PoolTimeout, sqlite3.Error, psycopg.Error):
        return "数据库无法连接。"
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current != head:
        return (
            f"数据库结构不是最新版本（当前 {current or '未初始化'}，应为 {head}）："
            "请运行 tongban init。"
        )
    return None
