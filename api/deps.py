"""Typed dependencies: routes read as plain functions of the runtime, a unit of work, the
clock and the signed-in actor.

The ones that do no I/O are `async def`, although nothing in them awaits: FastAPI sends
every sync dependency to the threadpool, one handoff each, and on a loaded server those
handoffs cost the event loop more than the route itself.

`current_session` is `async` on purpose: FastAPI awaits it in the request's own task, so the
`user` it binds into the structlog context is copied into the threadpool where the sync
route and the services then run (a sync dependency would bind in a throwaway thread
context). The database read itself goes to the threadpool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from tongban.services.core.errors import Unauthenticated
from tongban.services.core.runtime import Runtime
from tongban.services.core.uow import UnitOfWork
from tongban.services.users.actors import Actor
from tongban.services.users.sessions import (
    MAX_TOKEN_CHARS,
    SessionInfo,
    authenticate,
    hash_token,
)

from .security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Tokens

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


def session_token(request: Request) -> tuple[str, bool] | None:
    """The request's session token (a bearer token first, else the cookie) and whether it
    came in the cookie; None when there is neither."""
    token = _bearer(request)
    if token is not None:
        return token, False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else None


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (behind a reverse proxy, run uvicorn
    with --forwarded-allow-ips so that this is the client's, not the proxy's)."""
    return request.client.host if request.client else None


async def _csrf_given(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@dataclass(frozen=True)
class Signed:
    """The request's live session and its user."""

    actor: Actor
    session: SessionInfo


async def current_session(
    request: Request, rt: RuntimeDep, tokens: TokensDep, now: NowDep
) -> Signed:
    """The live session of this request and its still active user: one joined read. A
    cookie-borne change must carry the CSRF token."""
    found = session_token(request)
    if found is None:
        raise Unauthenticated("请先登录。", code="auth.required")
    token, via_cookie = found
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("登录凭证无效，请重新登录。", code="auth.invalid")
    token_hash = hash_token(token)
    if via_cookie and request.method not in SAFE_METHODS:
        tokens.check_csrf(token_hash, await _csrf_given(request))
    actor, session = await run_in_threadpool(authenticate, rt.uow(), token_hash, now=now)
    structlog.contextvars.bind_contextvars(user=actor.username)
    request.state.user = actor.username
    return Signed(actor, session)


SignedDep = Annotated[Signed, Depends(current_session)]


async def current_actor(signed: SignedDep) -> Actor:
    return signed.actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def session_info(signed: SignedDep) -> SessionInfo:
    return signed.session


SessionDep = Annotated[SessionInfo, Depends(session_info)]


async def form_fields(request: Request) -> dict[str, list[str]]:
    """A submitted form as field -> values (files ignored); parsed once per request."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(name, []).append(value)
    return out


FormDep = Annotated[dict[str, list[str]], Depends(form_fields)]
