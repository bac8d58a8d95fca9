"""The request envelope: request id and log context, body size limit, access log, and the
last-resort 500 (problem+json, logged with its stack, no stack to the client).

A pure ASGI middleware, so the request runs in this task: the contextvars bound here
(`request_id`) are copied into the threadpool where sync routes and services run. The user
is bound by the `current_actor` dependency, which runs in the same task before the route;
it also records the username on `scope["state"]` for the one access line written here.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import PROBLEM_BASE, TITLES

log = structlog.get_logger("tongban.api")

MAX_BODY_BYTES = 1 << 20  # 1 MiB: a case action or a registration is a few kilobytes
INTERNAL_DETAIL = "系统内部错误，已记录。请稍后重试或联系管理员。"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Uploads of scanned materials (the API's and the workbench's): their own size limit.
_UPLOAD_PATH = re.compile(r"^(/api)?/cases/[^/]+/materials$")


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413)


def _problem_bytes(status: int, code: str, detail: str, path: str) -> bytes:
    body = {
        "type": PROBLEM_BASE + code,
        "title": TITLES.get(status, "错误"),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": path.encode("utf-8", "replace").decode("utf-8")[:500],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# Every answer: no framing, no MIME sniffing, no referrer to other sites. Pages allow
# scripts, styles and images from this origin only (the templates have no inline script or
# style). The interactive API docs (development only) are left without a policy: Swagger UI
# runs inline script.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# Pages and API answers carry personal data (names, ID numbers): no cache keeps them. Static
# files (the stylesheet) may be cached.
_NO_STORE = (b"cache-control", b"no-store")
_NO_CSP_PATHS = ("/api/docs",)


def security_headers(path: str, *, hsts: bool) -> list[tuple[bytes, bytes]]:
    """The headers every answer to `path` carries."""
    out = list(_SECURITY_HEADERS)
    if not path.startswith(_NO_CSP_PATHS):
        out.append((b"content-security-policy", _CSP.encode()))
    if not path.startswith("/static/"):
        out.append(_NO_STORE)
    if hsts:
        out.append(_HSTS)
    return out


class RequestContext:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = MAX_BODY_BYTES,
        hsts: bool = False,
        upload_max: int | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        # Strict-Transport-Security, in production (served over HTTPS).
        self.hsts = hsts
        self.upload_max = upload_max if upload_max is not None else max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        path: str = scope.get("path", "")
        upload = scope.get("method") == "POST" and bool(_UPLOAD_PATH.match(path))
        limit = self.upload_max if upload else self.max_body
        too_large = (
            f"上传内容过大（文件上限 {(limit - (1 << 20)) / (1 << 20):.3g} MiB）。"
            if upload
            else "请求内容过大（上限 1 MiB）。"
        )
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = [
                    *headers,
                    *(h for h in security_headers(path, hsts=self.hsts) if h[0] not in present),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def send_problem(status_code: int, code: str, detail: str) -> None:
            body = _problem_bytes(status_code, code, detail, path)
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status_code,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})

        try:
            declared = headers.get(b"content-length", b"0")
            if declared.isdigit() and int(declared) > limit:
                await send_problem(413, "request.too_large", too_large)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            if not response_started:
                await send_problem(413, "request.too_large", too_large)
        except Exception:
            log.exception("request.failed", method=scope.get("method"), path=path)
            if not response_started:
                await send_problem(500, "internal", INTERNAL_DETAIL)
        finally:
            log.info(
                "request",
                method=scope.get("method"),
                path=path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                user=state.get("user"),
            )
