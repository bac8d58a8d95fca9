"""One POST route per row of the action table: /api/cases/{case_no}/actions/{name}, each
with its own body in the OpenAPI document.

This module does not use `from __future__ import annotations`: a route is written once, in
`_route`, and its `body` annotation must be the action's own body class when FastAPI reads
the signature.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Request, Response
from pydantic import BaseModel

from tongban.services.cases.act import act
from tongban.services.cases.views import CaseView
from tongban.services.core.errors import NotFound
from tongban.services.core.runtime import Runtime
from tongban.services.users.actors import Actor
from tongban.workflow.actions import ACTIONS, ACTIONS_BY_NAME, Action

from ..deps import CurrentActor, NowDep, RuntimeDep
from ..problems import UNAVAILABLE, VERSION_REQUIRED, problem_responses
from .bodies import body_of, command_of
from .cases import CaseNo, etag
from .once import IdempotencyKeyHeader, respond

router = APIRouter(prefix="/api/cases", tags=["actions"])

IfMatch = Annotated[
    str | None,
    Header(
        max_length=64,
        description='The case version the client saw, e.g. "3" (the ETag of the detail).',
    ),
]


ACTION_RESPONSES = problem_responses(
    {
        404: "case.not_found：办件不存在或不在您的范围内。",
        409: "case.stale_version / transition.not_allowed：办件已被更新，或当前状态不允许此操作；"
        "idempotency.in_progress：使用同一 Idempotency-Key 的请求仍在处理中。",
        422: "input.invalid：输入有误（逐项列出）；idempotency.key_reused：同一 Idempotency-Key "
        "已用于另一个不同的请求。",
        428: VERSION_REQUIRED,
        503: UNAVAILABLE,
    }
)

Run = Callable[
    [Request, str, BaseModel, Actor, Runtime, datetime, str | None, str | None], Response
]


def _etag_of(view: dict[str, Any]) -> dict[str, str]:
    return {"ETag": etag(view["version"])}


def _route(action: Action) -> None:
    model = body_of(action.command)

    def run(
        request: Request, case_no: str, body: BaseModel, actor: Actor, rt: Runtime,
        now: datetime, if_match: str | None, key: str | None,
    ) -> Response:  # fmt: skip
        command = command_of(action, case_no, body, if_match=if_match)
        return respond(
            request,
            rt,
            actor,
            now,
            key=key,
            body=body,
            status=200,
            run=lambda: act(rt.uow(), command, actor=actor, now=now),
            headers_of=_etag_of,
        )

    required = any(f.is_required() for f in model.model_fields.values())
    endpoint = (_with_body if required else _body_or_nothing)(model, run)
    endpoint.__name__ = f"case_{action.name}"
    router.add_api_route(
        f"/{{case_no}}/actions/{action.name}",
        endpoint,
        methods=["POST"],
        response_model=CaseView,
        name=f"case_action_{action.name}",
        summary=action.label,
        description=f"{action.label}。Send `version` or `If-Match` (required: 428 without).",
        responses=ACTION_RESPONSES,
    )


def _with_body(model: type[BaseModel], run: Run) -> Callable[..., Response]:
    def endpoint(
        request: Request,
        case_no: CaseNo,
        body: Annotated[model, Body()],  # type: ignore[valid-type]
        actor: CurrentActor,
        rt: RuntimeDep,
        now: NowDep,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response:
        return run(request, case_no, body, actor, rt, now, if_match, idempotency_key)

    return endpoint


def _body_or_nothing(model: type[BaseModel], run: Run) -> Callable[..., Response]:
    """Every field is optional: an empty request is fine too."""

    def endpoint(
        request: Request,
        case_no: CaseNo,
        actor: CurrentActor,
        rt: RuntimeDep,
        now: NowDep,
        body: Annotated[model | None, Body()] = None,  # type: ignore[valid-type]
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response:
        return run(request, case_no, body or model(), actor, rt, now, if_match, idempotency_key)

    return endpoint


for _action in ACTIONS:
    _route(_action)


def action_named(name: str) -> Action:
    """The action called `name`, or action.unknown (404) listing the known ones."""
    action = ACTIONS_BY_NAME.get(name)
    if action is None:
        known = "、".join(ACTIONS_BY_NAME)
        raise NotFound(f"没有「{name[:32]}」这个操作。可用的操作：{known}。", code="action.unknown")
    return action


@router.post("/{case_no}/actions/{action}", include_in_schema=False)
def unknown_action(
    case_no: CaseNo, action: Annotated[str, Path(max_length=200)], actor: CurrentActor
) -> None:
    action_named(action)  # raises action.unknown (404)
