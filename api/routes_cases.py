"""The case API: list, detail, register, and one POST route per workflow action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from tongban.services import cases as c
from tongban.services import queries
from tongban.services.actors import Actor
from tongban.services.runtime import Runtime
from tongban.workflow.states import ACTION_LABELS, Action

from .actions import ACTIONS, ActionSpec, run_action, spec_of
from .deps import CurrentActor, NowDep, RuntimeDep
from .schemas import (
    NO_CONTROL,
    ActionIn,
    CaseDetailOut,
    CaseListOut,
    CaseOut,
    RegisterIn,
)

router = APIRouter(prefix="/api/cases", tags=["cases"])

CaseNo = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_CONTROL, description="案件编号")
]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=64,
        description='The case version the client saw, e.g. "3" (the ETag of the detail).',
    ),
]


def _etag(version: int) -> str:
    return f'"{version}"'


@router.get("", response_model=CaseListOut)
def list_cases(
    actor: CurrentActor,
    rt: RuntimeDep,
    now: NowDep,
    state: Annotated[
        str | None,
        Query(max_length=32, pattern=NO_CONTROL, description="A state, e.g. forwarded."),
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=queries.MAX_QUERY_CHARS, pattern=NO_CONTROL, description="Search text."),
    ] = None,
    page: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = queries.PER_PAGE,
) -> CaseListOut:
    """The cases in the caller's scope, open ones first."""
    found = queries.list_cases(
        rt.uow(), actor=actor, now=now, state=state, q=q, page=page, per_page=per_page
    )
    return CaseListOut.model_validate(found)


@router.post("", response_model=CaseOut, status_code=201)
def register_case(
    body: RegisterIn, response: Response, actor: CurrentActor, rt: RuntimeDep, now: NowDep
) -> CaseOut:
    """收件登记 (window clerks)."""
    application = c.Application(
        item_code=body.item_code,
        department_code=body.department_code,
        applicant_kind=body.applicant_kind,
        applicant_name=body.applicant_name,
        applicant_id_number=body.applicant_id_number,
        delivery_preference=body.delivery_preference,
        materials=tuple(
            c.MaterialIn(m.code, m.copies, m.e_licence_verified) for m in body.materials
        ),
        contact_phone=body.contact_phone,
        delivery_address=body.delivery_address,
    )
    view = c.register_case(rt.uow(), rt.key, actor=actor, application=application, now=now)
    response.headers["Location"] = f"/api/cases/{view.case_no}"
    response.headers["ETag"] = _etag(view.version)
    return CaseOut.model_validate(view)


@router.get("/{case_no}", response_model=CaseDetailOut)
def case_detail(
    case_no: CaseNo, response: Response, actor: CurrentActor, rt: RuntimeDep, now: NowDep
) -> CaseDetailOut:
    """One case: materials, clocks, audit history, and the actions open to the caller."""
    detail = queries.case_detail(rt.uow(), actor=actor, case_no=case_no, now=now)
    out = CaseDetailOut.model_validate(detail)
    for option in out.actions:
        option.fields = ACTIONS[option.action].fields
    response.headers["ETag"] = _etag(detail.version)
    return out


def _required_body(name: str, spec: ActionSpec) -> Callable[..., CaseOut]:
    def endpoint(
        case_no: CaseNo,
        body: ActionIn,
        response: Response,
        actor: CurrentActor,
        rt: RuntimeDep,
        now: NowDep,
        if_match: IfMatch = None,
    ) -> CaseOut:
        return _run(name, case_no, body, response, actor, rt, now, if_match)

    endpoint.__annotations__ = {**endpoint.__annotations__, "body": spec.body}
    return endpoint


def _optional_body(name: str, spec: ActionSpec) -> Callable[..., CaseOut]:
    def endpoint(
        case_no: CaseNo,
        response: Response,
        actor: CurrentActor,
        rt: RuntimeDep,
        now: NowDep,
        body: ActionIn | None = None,
        if_match: IfMatch = None,
    ) -> CaseOut:
        return _run(name, case_no, body or spec.body(), response, actor, rt, now, if_match)

    endpoint.__annotations__ = {**endpoint.__annotations__, "body": spec.body | None}
    return endpoint


def _run(
    name: str,
    case_no: str,
    body: ActionIn,
    response: Response,
    actor: Actor,
    rt: Runtime,
    now: datetime,
    if_match: str | None,
) -> CaseOut:
    view = run_action(
        rt, actor=actor, case_no=case_no, action=name, body=body, now=now, if_match=if_match
    )
    response.headers["ETag"] = _etag(view.version)
    return CaseOut.model_validate(view)


def _action_route(name: str, spec: ActionSpec) -> Callable[..., CaseOut]:
    """A typed route for one action, so OpenAPI shows each action's own body; actions whose
    fields are all optional accept an empty request."""
    required = any(f.is_required() for f in spec.body.model_fields.values())
    endpoint = (_required_body if required else _optional_body)(name, spec)
    endpoint.__name__ = f"case_{name}"
    endpoint.__doc__ = f"{ACTION_LABELS[Action(name)]}. Send `version` or `If-Match`."
    return endpoint


for _name, _spec in ACTIONS.items():
    router.add_api_route(
        f"/{{case_no}}/actions/{_name}",
        _action_route(_name, _spec),
        methods=["POST"],
        response_model=CaseOut,
        name=f"case_action_{_name}",
        summary=ACTION_LABELS[Action(_name)],
    )


@router.post("/{case_no}/actions/{action}", include_in_schema=False)
def unknown_action(
    case_no: CaseNo, action: Annotated[str, Path(max_length=200)], actor: CurrentActor
) -> None:
    spec_of(action)  # raises action.unknown (404)
