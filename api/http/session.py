"""Sign-in, sign-out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tongban.services.core.runtime import Runtime
from tongban.services.users.accounts import sign_in
from tongban.services.users.actors import Actor
from tongban.workflow.roles import ROLE_LABELS

from ..deps import CurrentActor, NowDep, RuntimeDep, SessionDep, TokensDep
from ..security import SESSION_COOKIE, Claims, Tokens
from .schemas import MeOut, SessionIn, SessionOut

router = APIRouter(prefix="/api", tags=["session"])


def me_of(actor: Actor, claims: Claims, tokens: Tokens) -> MeOut:
    return MeOut(
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role.value,
        role_label=ROLE_LABELS[actor.role],
        unit=actor.unit,
        office_code=actor.office_code,
        department_code=actor.department_code,
        region_code=actor.region_code,
        csrf_token=tokens.csrf_token(claims),
        session_expires_at=claims.expires_at,
    )


def secure_cookies(rt: Runtime) -> bool:
    """Cookies only over HTTPS in production; development and tests speak plain HTTP."""
    return rt.settings.env == "production"


def set_session_cookie(response: Response, token: str, tokens: Tokens, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(tokens.max_age.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


@router.post("/session", response_model=SessionOut, status_code=201)
def create_session(
    body: SessionIn, response: Response, rt: RuntimeDep, tokens: TokensDep, now: NowDep
) -> SessionOut:
    """Sign in: sets the HttpOnly session cookie and returns the same token for bearer use."""
    actor = sign_in(rt.uow(), username=body.username, password=body.password, now=now)
    token, claims = tokens.issue(actor.username)
    set_session_cookie(response, token, tokens, secure=secure_cookies(rt))
    return SessionOut(
        token=token,
        expires_at=claims.expires_at,
        csrf_token=tokens.csrf_token(claims),
        user=me_of(actor, claims, tokens),
    )


@router.delete("/session", status_code=204)
def delete_session() -> Response:
    """Sign out: clears the session cookie. (A bearer token lapses at its expiry.)"""
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=MeOut)
def me(actor: CurrentActor, claims: SessionDep, tokens: TokensDep) -> MeOut:
    return me_of(actor, claims, tokens)
