"""The web application: JSON API under /api, the workbench pages, static files.

`create_app(rt)` wires the runtime, the error handlers, the request middleware and the
routers.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import anyio.to_thread
import psycopg
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from tongban.services.core.config import Settings
from tongban.services.core.errors import DomainError
from tongban.services.core.faults import readiness
from tongban.services.core.logs import configure_logging
from tongban.services.core.runtime import Runtime, open_runtime

from .deps import RuntimeDep
from .http import actions, cases, catalog, documents, materials, session
from .middleware import RequestContext
from .problems import (
    UNAVAILABLE,
    database_error_handler,
    domain_error_handler,
    http_error_handler,
    problem,
    problem_responses,
    validation_error_handler,
)
from .security import Tokens
from .web import pages
from .web.render import HERE

ROUTERS: tuple[APIRouter, ...] = (
    session.router,
    cases.router,
    actions.router,
    documents.router,
    materials.router,
    catalog.router,
    pages.router,
)

log = structlog.get_logger("tongban.api")
UNAVAILABLE_NOT_READY = "unavailable：数据库无法连接，或数据库结构不是最新版本。"
health = APIRouter(tags=["health"])


@health.get("/healthz", responses=problem_responses({}))
def healthz() -> Response:
    """Liveness: the process answers. It touches no database (see /readyz)."""
    return JSONResponse({"status": "ok"})


@health.get("/readyz", responses=problem_responses({503: UNAVAILABLE_NOT_READY}))
def readyz(request: Request, rt: RuntimeDep) -> Response:
    """Readiness: the database answers and its schema is at the newest migration."""
    why = readiness(rt.engine)
    if why is not None:
        log.warning("readyz.not_ready", reason=why)
        return problem(
            request,
            status=503,
            code="unavailable",
            detail=why,
            headers={"Retry-After": str(rt.settings.db_retry_after_seconds)},
        )
    return JSONResponse({"status": "ready"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _thread_limit(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Caps the threads that run blocking endpoints. Each request holds its thread for a
    few milliseconds of database and Python work; with anyio's default of 40, the threads
    mostly wait on each other for the GIL and the tail latency grows (measured with
    `tongban bench http`: 40 threads p99 ≈ 125 ms, 4 threads ≈ 80 ms, at higher throughput).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def from_environment() -> FastAPI:
    """The app over a runtime made from TONGBAN_* settings: what each worker process of
    `tongban serve --workers N` runs (`uvicorn --factory tongban.api.app:from_environment`)."""
    settings = Settings()
    configure_logging(json=True if settings.env == "production" else None, level=settings.log_level)
    return create_app(open_runtime(settings))


def create_app(rt: Runtime, *, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    """The ASGI app over `rt`. `clock` gives "now" to every use case (tests pass their own)."""
    # In production the interactive docs and the schema are off: they map every route
    # and body for whoever asks, signed in or not.
    production = rt.settings.env == "production"
    app = FastAPI(
        lifespan=_thread_limit(rt.settings.request_threads),
        title="通办 tongban",
        summary="跨省通办 cases: receive here, handle there.",
        version="0.1.0",
        docs_url=None if production else "/api/docs",
        redoc_url=None,
        openapi_url=None if production else "/api/openapi.json",
    )
    app.state.rt = rt
    app.state.clock = clock
    app.state.tokens = Tokens(rt.session_secret)
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    # A database that refuses, drops or outlasts a request: 503 with Retry-After.
    for database_error in (SQLAlchemyError, sqlite3.Error, psycopg.Error):
        app.add_exception_handler(database_error, database_error_handler)
    # Uploads of scans may be as large as the configured file size, plus the multipart
    # envelope; every other request stays under 1 MiB.
    app.add_middleware(
        RequestContext, hsts=production, upload_max=rt.settings.max_file_bytes + (1 << 20)
    )
    # RequestContext writes the one access line per request (with request id and user);
    # uvicorn's own access logger would add a second, unbound one.
    logging.getLogger("uvicorn.access").disabled = True
    app.include_router(health)
    # Every route but /healthz answers 503 while the database is unreachable.
    for router in ROUTERS:
        app.include_router(router, responses=problem_responses({503: UNAVAILABLE}))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
