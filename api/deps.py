"""Typed dependencies: routes read as plain functions of the runtime, a unit of work, the
clock and the signed-in actor.

The ones that do no I/O are `async def`, although nothing in them awaits: FastAPI sends
every sync dependency to the threadpool, one handoff each, and on a loaded server those
handoffs cost the event loop more than the route itself.

`current_actor` is `async` on purpose: FastAPI awaits it in the request's own task, so the
`user` it binds into the structlog context is copied into the threadpool where the sync
route and the services then run (a sync dependency would bind in a throwaway thread
context). The database read itself goes to the threadpool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from tongban.services.core.errors import Unauthenticated
from tongban.services.core.runtime import Runtime
from tongban.services.core.uow import UnitOfWork
from tongban.services.users.actors import Actor, load_actor

from .security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Claims, Tokens

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_uow(rt: RuntimeDep) -> UnitOfWork:
    return rt.uow()


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


NowDep = Annotated[datetime, Depends(get_now)]


async def get_tokens(request: Request) -> Tokens:
    tokens: Tokens = request.app.state.tokens
    return tokens


TokensDep = Annotated[Tokens, Depends(get_tokens)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Authorization 头应为「Bearer <令牌>」。", code="auth.invalid", field="authorization"
        )
    return token.strip()


async def session_claims(request: Request, tokens: TokensDep) -> Claims:
    """The session of this request: a bearer token first, else the session cookie."""
    token = _bearer(request)
    if token is not None:
        return tokens.read(token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return tokens.read(cookie, via_cookie=True)
    raise Unauthenticated("请先登录。", code="auth.required")


SessionDep = Annotated[Claims, Depends(session_claims)]


async def _csrf_given(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def current_actor(
    request: Request, rt: RuntimeDep, claims: SessionDep, tokens: TokensDep
) -> Actor:
    """The signed-in, still active user; a cookie-borne change must carry the CSRF token."""
    if claims.via_cookie and request.method not in SAFE_METHODS:
        tokens.check_csrf(claims, await _csrf_given(request))
    actor = await run_in_threadpool(load_actor, rt.uow(), claims.username)
    structlog.contextvars.bind_contextvars(user=actor.username)
    request.state.user = actor.username
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def form_fields(request: Request) -> dict[str, list[str]]:
    """A submitted form as field -> values (files ignored); parsed once per request."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(name, []).append(value)
    return out


FormDep = Annotated[dict[str, list[str]], Depends(form_fields)]
