"""Sign-in, sign-out, change one's password, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tongban.services.core.runtime import Runtime
from tongban.services.users.accounts import change_password, sign_in
from tongban.services.users.actors import Actor
from tongban.services.users.sessions import (
    MAX_TOKEN_CHARS,
    SessionInfo,
    hash_token,
    revoke_session,
)
from tongban.workflow.roles import ROLE_LABELS

from ..deps import (
    CurrentActor,
    NowDep,
    RuntimeDep,
    SessionDep,
    TokensDep,
    client_address,
    session_token,
)
from ..security import SESSION_COOKIE, Tokens
from .schemas import MeOut, PasswordChangeIn, PasswordChangeOut, SessionIn, SessionOut

router = APIRouter(prefix="/api", tags=["session"])


def me_of(actor: Actor, session: SessionInfo, tokens: Tokens) -> MeOut:
    return MeOut(
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role.value,
        role_label=ROLE_LABELS[actor.role],
        unit=actor.unit,
        office_code=actor.office_code,
        department_code=actor.department_code,
        region_code=actor.region_code,
        csrf_token=tokens.csrf_token(session),
        session_expires_at=session.expires_at,
    )


def secure_cookies(rt: Runtime) -> bool:
    """Cookies only over HTTPS in production; development and tests speak plain HTTP."""
    return rt.settings.env == "production"


def set_session_cookie(response: Response, token: str, rt: Runtime) -> None:
    """The session cookie lives as long as the session may (the server ends it sooner when
    idle or revoked)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=rt.settings.session_lifetime_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(rt),
    )


def end_session(request: Request, rt: Runtime, now: NowDep) -> None:
    """Revoke the request's session, if it carries one (holding the token is proof enough
    to end it)."""
    found = session_token(request)
    if found is not None and len(found[0]) <= MAX_TOKEN_CHARS:
        revoke_session(rt.uow(), hash_token(found[0]), now=now)


@router.post("/session", response_model=SessionOut, status_code=201)
def create_session(
    body: SessionIn,
    request: Request,
    response: Response,
    rt: RuntimeDep,
    tokens: TokensDep,
    now: NowDep,
) -> SessionOut:
    """Sign in: sets the HttpOnly session cookie and returns the same token for bearer use.
    Repeated failures per username or client address are answered 429 with Retry-After."""
    signed = sign_in(
        rt.uow(),
        username=body.username,
        password=body.password,
        now=now,
        address=client_address(request),
    )
    set_session_cookie(response, signed.token, rt)
    return SessionOut(
        token=signed.token,
        expires_at=signed.session.expires_at,
        csrf_token=tokens.csrf_token(signed.session),
        user=me_of(signed.actor, signed.session, tokens),
    )


@router.delete("/session", status_code=204)
def delete_session(request: Request, rt: RuntimeDep, now: NowDep) -> Response:
    """Sign out: the session (bearer token or cookie) is revoked and the cookie cleared."""
    end_session(request, rt, now)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.post("/session/password", response_model=PasswordChangeOut)
def change_own_password(
    body: PasswordChangeIn, actor: CurrentActor, session: SessionDep, rt: RuntimeDep, now: NowDep
) -> PasswordChangeOut:
    """Change your own password (the current one, then a new one meeting the policy). Your
    other sessions are signed out; this one goes on."""
    revoked = change_password(
        rt.uow(),
        actor=actor,
        session_id=session.id,
        current=body.current_password,
        new=body.new_password,
        now=now,
    )
    return PasswordChangeOut(other_sessions_revoked=revoked)


@router.get("/me", response_model=MeOut)
def me(actor: CurrentActor, session: SessionDep, tokens: TokensDep) -> MeOut:
    return me_of(actor, session, tokens)
