"""The web application: JSON API under /api, the workbench pages, static files.

`create_app(rt)` wires the runtime, the error handlers, the request middleware and the
routers. Add a router by adding its module to ROUTERS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import import_module

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException

from tongban.services.errors import DomainError
from tongban.services.runtime import Runtime

from .deps import RuntimeDep
from .middleware import RequestContext
from .problems import (
    domain_error_handler,
    http_error_handler,
    problem,
    validation_error_handler,
)
from .security import Tokens
from .web import HERE

# Each module exposes `router`; one line per module.
ROUTERS: tuple[str, ...] = (
    "tongban.api.routes_session",
    "tongban.api.routes_cases",
    "tongban.api.routes_catalog",
    "tongban.api.routes_web",
)

log = structlog.get_logger("tongban.api")
health = APIRouter(tags=["health"])


@health.get("/healthz")
def healthz(request: Request, rt: RuntimeDep) -> Response:
    """Liveness and database reachability."""
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        log.warning("healthz.database_unreachable", exc_info=True)
        return problem(request, status=503, code="unavailable", detail="数据库无法连接。")
    return JSONResponse({"status": "ok"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(rt: Runtime, *, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    """The ASGI app over `rt`. `clock` gives "now" to every use case (tests pass their own)."""
    app = FastAPI(
        title="通办 tongban",
        summary="跨省通办 cases: receive here, handle there.",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.rt = rt
    app.state.clock = clock
    app.state.tokens = Tokens(rt.key)
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_middleware(RequestContext)
    # RequestContext writes the one access line per request (with request id and user);
    # uvicorn's own access logger would add a second, unbound one.
    logging.getLogger("uvicorn.access").disabled = True
    app.include_router(health)
    for name in ROUTERS:
        app.include_router(import_module(name).router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
