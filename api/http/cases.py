"""The case API: list, detail and register (收件). The action routes are in
api.http.actions, one per row of the action table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from tongban.services.cases import queries
from tongban.services.cases.receive import receive
from tongban.services.cases.views import CaseDetail, CasePage, CaseView

from ..deps import CurrentActor, NowDep, RuntimeDep
from ..problems import UNAVAILABLE, problem_responses
from .bodies import NO_CONTROL, RegisterIn, application_of
from .once import IDEMPOTENCY_RESPONSES, IdempotencyKeyHeader, respond

router = APIRouter(prefix="/api/cases", tags=["cases"])

CaseNo = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_CONTROL, description="办件编号")
]


def etag(version: int) -> str:
    return f'"{version}"'


@router.get("", response_model=CasePage)
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
) -> CasePage:
    """The cases in the caller's scope, open ones first."""
    return queries.list_cases(
        rt.uow(), actor=actor, now=now, state=state, q=q, page=page, per_page=per_page
    )


def _made_headers(view: dict[str, Any]) -> dict[str, str]:
    return {"Location": f"/api/cases/{view['case_no']}", "ETag": etag(view["version"])}


@router.post(
    "",
    response_model=CaseView,
    status_code=201,
    responses=problem_responses({**IDEMPOTENCY_RESPONSES, 503: UNAVAILABLE}),
)
def register_case(
    request: Request,
    body: RegisterIn,  # type: ignore[valid-type]  # a model made from the Application
    actor: CurrentActor,
    rt: RuntimeDep,
    now: NowDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """收件登记 (window clerks). With `Idempotency-Key`, a retry makes no second case."""
    return respond(
        request,
        rt,
        actor,
        now,
        key=idempotency_key,
        body=body,
        status=201,
        run=lambda: receive(rt.uow(), application_of(body), actor=actor, now=now),
        headers_of=_made_headers,
    )


@router.get("/{case_no}", response_model=CaseDetail)
def case_detail(
    case_no: CaseNo, response: Response, actor: CurrentActor, rt: RuntimeDep, now: NowDep
) -> CaseDetail:
    """One case: materials, deadlines, audit history, and the actions open to the caller."""
    detail = queries.case_detail(rt.uow(), actor=actor, case_no=case_no, now=now)
    response.headers["ETag"] = etag(detail.version)
    return detail
