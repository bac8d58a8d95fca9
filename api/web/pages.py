"""The workbench (工作台): server-rendered pages over the same services as the JSON API.

Forms post back here; a refused action re-renders the page with the service's Chinese
message and the person's input kept. Every form carries the session's CSRF token, and
action forms the case version they were rendered from.
"""

from __future__ import annotations

import secrets
import typing
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from tongban.services.cases import queries
from tongban.services.cases.act import act as act_on
from tongban.services.cases.receive import receive
from tongban.services.core.errors import DomainError, InvalidInput
from tongban.services.core.runtime import Runtime
from tongban.services.documents.issue import document_links
from tongban.services.files.materials import upload
from tongban.services.users.accounts import change_password, sign_in
from tongban.services.users.actors import Actor
from tongban.workflow.actions import EVENT_LABELS
from tongban.workflow.roles import Role

from ..deps import (
    CurrentActor,
    FormDep,
    NowDep,
    RuntimeDep,
    SessionDep,
    TokensDep,
    client_address,
)
from ..http.actions import action_named
from ..http.bodies import NO_CONTROL, RegisterIn, application_of, body_of, command_of
from ..http.schemas import PasswordChangeIn, SessionIn
from ..http.session import end_session, set_session_cookie
from ..problems import STATUS_OF_KIND, describe, retry_headers, validation_errors
from ..security import LOGIN_COOKIE, LOGIN_FIELD, LOGIN_MAX_AGE, SESSION_COOKIE, Tokens
from .render import render

router = APIRouter(include_in_schema=False)

PageCaseNo = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_CONTROL)]


def _first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


def _status(err: DomainError) -> int:
    return STATUS_OF_KIND.get(err.kind, 422)


def _invalid(err: ValidationError) -> str:
    return describe(validation_errors(err.errors()))


# --- sign in / out -------------------------------------------------------------------------


def _login_form(
    request: Request, tokens: Tokens, *, status: int = 200, username: str = "", message: str = ""
) -> Response:
    """The sign-in page with a fresh login token, its random half in an HttpOnly cookie."""
    nonce = secrets.token_urlsafe(16)
    response = render(
        request,
        "login.html",
        status=status,
        username=username[:64],
        message=message,
        login_token=tokens.login_token(nonce),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=int(LOGIN_MAX_AGE.total_seconds()),
        path="/login",
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/login")
def login_page(request: Request, tokens: TokensDep) -> Response:
    return _login_form(request, tokens)


@router.post("/login")
def login(
    request: Request, form: FormDep, rt: RuntimeDep, tokens: TokensDep, now: NowDep
) -> Response:
    username = _first(form, "username")
    try:
        tokens.check_login(request.cookies.get(LOGIN_COOKIE), _first(form, LOGIN_FIELD))
        body = SessionIn(username=username, password=_first(form, "password"))
        signed = sign_in(
            rt.uow(),
            username=body.username,
            password=body.password,
            now=now,
            address=client_address(request),
        )
    except ValidationError:
        return _login_form(
            request, tokens, status=422, username=username, message="请填写用户名和密码。"
        )
    except DomainError as err:
        page = _login_form(
            request, tokens, status=_status(err), username=username, message=err.message
        )
        page.headers.update(retry_headers(err))
        return page
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, signed.token, rt)
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="lax")
    return response


@router.post("/logout")
def logout(request: Request, actor: CurrentActor, rt: RuntimeDep, now: NowDep) -> Response:
    """Sign out: the session is revoked, not only its cookie cleared."""
    end_session(request, rt, now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/password")
def password_page(
    request: Request, actor: CurrentActor, session: SessionDep, tokens: TokensDep
) -> Response:
    return render(request, "password.html", me=actor, csrf=tokens.csrf_token(session))


@router.post("/password")
def password_change(
    request: Request,
    form: FormDep,
    actor: CurrentActor,
    session: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
) -> Response:
    """Change one's own password; the person's other sessions are signed out."""
    csrf = tokens.csrf_token(session)
    new, again = _first(form, "new_password"), _first(form, "new_password_again")
    try:
        if new != again:
            raise InvalidInput("确认新密码：与新密码不一致。", field="new_password_again")
        body = PasswordChangeIn(current_password=_first(form, "current_password"), new_password=new)
        revoked = change_password(
            rt.uow(),
            actor=actor,
            session_id=session.id,
            current=body.current_password,
            new=body.new_password,
            now=now,
        )
    except ValidationError as err:
        return render(
            request, "password.html", me=actor, csrf=csrf, status=422, message=_invalid(err)
        )
    except DomainError as err:
        return render(
            request, "password.html", me=actor, csrf=csrf, status=_status(err), message=err.message
        )
    return render(request, "password.html", me=actor, csrf=csrf, done=True, revoked=revoked)


# --- inbox ---------------------------------------------------------------------------------


@router.get("/")
def inbox(
    request: Request,
    actor: CurrentActor,
    claims: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
    state: Annotated[str, Query(max_length=32, pattern=NO_CONTROL)] = "",
    q: Annotated[str, Query(max_length=queries.MAX_QUERY_CHARS, pattern=NO_CONTROL)] = "",
    page: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 1,
) -> Response:
    found = queries.list_cases(
        rt.uow(), actor=actor, now=now, state=state or None, q=q or None, page=page
    )
    return render(
        request,
        "inbox.html",
        me=actor,
        csrf=tokens.csrf_token(claims),
        found=found,
        state=state,
        q=q,
        now=now,
    )


# --- one case ------------------------------------------------------------------------------


def _case_page(
    request: Request,
    actor: Actor,
    csrf: str,
    rt: Runtime,
    now: datetime,
    case_no: str,
    *,
    status: int = 200,
    done: str = "",
    error: str = "",
    error_action: str = "",
    values: dict[str, list[str]] | None = None,
) -> Response:
    detail = queries.case_detail(rt.uow(), actor=actor, case_no=case_no, now=now)
    documents = document_links(rt.uow(), actor=actor, case_no=case_no)
    done_label = EVENT_LABELS.get(done, "")
    return render(
        request,
        "case.html",
        me=actor,
        csrf=csrf,
        status=status,
        case=detail,
        documents=documents,
        done_label=done_label,
        error=error,
        error_action=error_action,
        values=values or {},
        now=now,
    )


@router.get("/cases/new")
def new_case_page(
    request: Request,
    actor: CurrentActor,
    claims: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
    item: Annotated[str, Query(max_length=16, pattern=NO_CONTROL)] = "",
) -> Response:
    return _new_case(request, actor, tokens.csrf_token(claims), rt, now, item_code=item)


def _new_case(
    request: Request,
    actor: Actor,
    csrf: str,
    rt: Runtime,
    now: datetime,
    *,
    item_code: str,
    status: int = 200,
    error: str = "",
    values: dict[str, list[str]] | None = None,
) -> Response:
    choices = queries.registration_choices(rt.uow(), now=now)
    item = next((i for i in choices.items if i.code == item_code), None)
    return render(
        request,
        "new_case.html",
        me=actor,
        csrf=csrf,
        status=status,
        choices=choices,
        item=item,
        error=error,
        values=values or {},
        can_register=actor.role is Role.CLERK,
    )


@router.post("/cases/new")
def register(
    request: Request,
    form: FormDep,
    actor: CurrentActor,
    claims: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
) -> Response:
    item_code = _first(form, "item_code")
    try:
        body = RegisterIn.model_validate(
            {
                "item_code": item_code,
                "department_code": _first(form, "department_code"),
                "applicant_kind": _first(form, "applicant_kind"),
                "applicant_name": _first(form, "applicant_name").strip(),
                "applicant_id_number": _first(form, "applicant_id_number").strip(),
                "delivery_preference": _first(form, "delivery_preference"),
                "contact_phone": _first(form, "contact_phone").strip(),
                "delivery_address": _first(form, "delivery_address").strip(),
                "materials": _materials(form),
                "applicant_document_type": _first(form, "applicant_document_type") or None,
                "legal_representative": _first(form, "legal_representative").strip(),
                "agent": _agent(form),
                "confirm_default_guide": _first(form, "confirm_default_guide") == "yes",
            }
        )
        view = receive(rt.uow(), application_of(body), actor=actor, now=now)
    except ValidationError as err:
        return _new_case(
            request,
            actor,
            tokens.csrf_token(claims),
            rt,
            now,
            item_code=item_code,
            status=422,
            error=_invalid(err),
            values=form,
        )
    except DomainError as err:
        return _new_case(
            request,
            actor,
            tokens.csrf_token(claims),
            rt,
            now,
            item_code=item_code,
            status=_status(err),
            error=err.message,
            values=form,
        )
    return RedirectResponse(f"/cases/{view.case_no}?done=receive", status_code=303)


@router.get("/cases/{case_no}")
def case_page(
    request: Request,
    case_no: PageCaseNo,
    actor: CurrentActor,
    claims: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
    done: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    return _case_page(request, actor, tokens.csrf_token(claims), rt, now, case_no, done=done)


def _materials(form: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Ticked materials, each with whether its electronic licence was verified."""
    licence = set(form.get("e_licence", []))
    return [
        {
            "code": code,
            "e_licence_verified": code in licence,
            "licence_no": _first(form, f"licence_no_{code}").strip() if code in licence else "",
        }
        for code in form.get("materials", [])
    ]


def _agent(form: dict[str, list[str]]) -> dict[str, str] | None:
    """The agent fieldset, when an agent category is chosen."""
    role = _first(form, "agent_role")
    if not role:
        return None
    fields = ("name", "document_type", "document_number", "phone", "relationship")
    return {"role": role, **{f: _first(form, f"agent_{f}").strip() for f in fields}}


def _action_body(model: type[BaseModel], form: dict[str, list[str]]) -> dict[str, Any]:
    """Form fields -> the action's JSON body: textareas one entry per line, checkboxes lists."""
    body: dict[str, Any] = {}
    version = _first(form, "version").strip()
    if version:
        body["version"] = version
    for name, field in model.model_fields.items():
        if name == "version":
            continue
        if name == "materials":
            body[name] = _materials(form)
        elif name == "paper_only":  # checkboxes
            body[name] = form.get(name, [])
        elif typing.get_origin(field.annotation) is list:
            entries = [ln.strip() for ln in _first(form, name).splitlines() if ln.strip()]
            if entries or field.is_required():
                body[name] = entries
        elif name in form:
            value = _first(form, name).strip()
            if value or field.is_required():  # an unchosen select keeps its default
                body[name] = value
    return body


@router.post("/cases/{case_no}/actions/{action}")
def act(
    request: Request,
    case_no: PageCaseNo,
    action: Annotated[str, Path(max_length=64)],
    form: FormDep,
    actor: CurrentActor,
    claims: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
) -> Response:
    csrf = tokens.csrf_token(claims)
    chosen = action_named(action)
    model = body_of(chosen.command)
    try:
        body = model.model_validate(_action_body(model, form))
        view = act_on(rt.uow(), command_of(chosen, case_no, body), actor=actor, now=now)
    except ValidationError as err:
        message, status = _invalid(err), 422
    except DomainError as err:
        message, status = err.message, _status(err)
    else:
        return RedirectResponse(f"/cases/{view.case_no}?done={action}", status_code=303)
    return _case_page(
        request,
        actor,
        csrf,
        rt,
        now,
        case_no,
        status=status,
        error=message,
        error_action=action,
        values=form,
    )


@router.post("/cases/{case_no}/materials")
def upload_material(
    request: Request,
    case_no: PageCaseNo,
    slot: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
    actor: CurrentActor,
    claims: SessionDep,
    tokens: TokensDep,
    rt: RuntimeDep,
    now: NowDep,
) -> Response:
    """The workbench's upload form (the CSRF token is checked by `current_actor`)."""
    try:
        upload(
            rt.uow(),
            case_no=case_no,
            slot=slot,
            filename=file.filename,
            stream=file.file,
            actor=actor,
            now=now,
        )
    except DomainError as err:
        return _case_page(
            request,
            actor,
            tokens.csrf_token(claims),
            rt,
            now,
            case_no,
            status=_status(err),
            error=err.message,
            error_action="upload",
        )
    return RedirectResponse(f"/cases/{case_no}?done=upload_material", status_code=303)
