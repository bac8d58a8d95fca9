"""`Idempotency-Key` on the routes that write (registration and every action): the answer
is made here as JSON once, and the same key's retries get it back (services.core.idempotency)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Request, Response
from pydantic import BaseModel, TypeAdapter

from tongban.services.core.idempotency import Answer, once, request_hash
from tongban.services.core.runtime import Runtime
from tongban.services.users.actors import Actor

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "Any unique string (e.g. a UUID) per request: a retry with the same key gets the "
            "first answer back and changes nothing; the same key with another request is 422."
        ),
    ),
]

IDEMPOTENCY_RESPONSES = {
    409: "idempotency.in_progress：使用同一 Idempotency-Key 的请求仍在处理中。",
    422: "idempotency.key_reused：同一 Idempotency-Key 已用于另一个不同的请求。",
}


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    """The JSON serializer of a view type, made once."""
    made = _ADAPTERS.get(kind)
    if made is None:
        made = _ADAPTERS[kind] = TypeAdapter(kind)
    return made


def respond(
    request: Request,
    rt: Runtime,
    actor: Actor,
    now: datetime,
    *,
    key: str | None,
    body: BaseModel | None,
    status: int,
    run: Callable[[], object],
    headers_of: Callable[[dict[str, Any]], dict[str, str]],
) -> Response:
    """`run()`'s view as a JSON answer of `status`, once per idempotency key."""

    def answer() -> Answer:
        view = run()
        return Answer(status, _adapter(type(view)).dump_json(view).decode())

    if key is None:
        made = answer()
    else:
        fingerprint = request_hash(
            request.method,
            request.url.path,
            None if body is None else body.model_dump(mode="json"),
            request.headers.get("if-match"),
        )
        made = once(
            rt.uow(), user_id=actor.user_id, key=key, fingerprint=fingerprint, now=now, run=answer
        )
    headers = headers_of(json.loads(made.body))
    if made.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        made.body, status_code=made.status, media_type="application/json", headers=headers
    )
