"""Errors as RFC 9457 problem details (`application/problem+json`).

One handler maps every DomainError by its `kind`; request validation and HTTP errors get the
same shape. Workbench pages (paths outside /api) get an HTML page instead, or a redirect to
the login page when the person is not signed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from tongban.services.core.errors import DomainError
from tongban.services.core.faults import is_database_fault, unavailable
from tongban.workflow.commands import field_labels

from .security import SESSION_COOKIE
from .web.render import render_error

log = structlog.get_logger("tongban.api")

PROBLEM_BASE = "https://tongban.dev/problems/"

STATUS_OF_KIND: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "invalid": 422,
    "unauthenticated": 401,
    "throttled": 429,
    "too_large": 413,
    "unsupported": 415,
    "precondition_required": 428,
    "unavailable": 503,
}

TITLES: dict[int, str] = {
    400: "请求有误",
    401: "未登录或登录已失效",
    403: "无权操作",
    404: "未找到",
    405: "不支持的请求方法",
    409: "与办件当前状态冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "输入有误",
    428: "缺少办件版本",
    429: "尝试过于频繁",
    500: "系统内部错误",
    503: "服务暂不可用",
}

CODES_OF_STATUS: dict[int, str] = {
    400: "request.malformed",
    401: "auth.required",
    403: "forbidden",
    404: "not_found",
    405: "method.not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "input.invalid",
    500: "internal",
    503: "unavailable",
}


class Problem(BaseModel):
    """An error as RFC 9457 problem details; `code` is stable, `detail` is for people."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    field: str | None = None


_PROBLEM_SCHEMA = Problem.model_json_schema()


def problem_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, each an application/problem+json Problem
    with its codes described."""
    return {
        status: {
            "description": f"{TITLES.get(status, '错误')}：{text}",
            "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
        }
        for status, text in descriptions.items()
    }


VERSION_REQUIRED = "case.version_required：未发送 version 或 If-Match。请重新读取办件，发送其版本。"
UNAVAILABLE = "unavailable：数据库暂时无法连接，请按 Retry-After 稍后重试。"


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def clean(text: object, limit: int = 200) -> str:
    """A string safe to echo: valid UTF-8 (no lone surrogates) and of bounded length."""
    out = str(text).encode("utf-8", "replace").decode("utf-8")
    return out if len(out) <= limit else out[: limit - 1] + "…"


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title or TITLES.get(status, "错误"),
        "status": status,
        "detail": clean(detail, 2000),
        "code": code,
        "instance": clean(request.url.path, 500),
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _is_page(request: Request) -> bool:
    """Workbench pages speak HTML; /api, /healthz and the OpenAPI document speak JSON."""
    path = request.url.path
    return not (
        path.startswith("/api") or path in ("/healthz", "/readyz") or path.startswith("/static")
    )


def _simple_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool) or v is None}


def _page_error(request: Request, status: int, message: str, code: str) -> Response:
    if status == 401:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return render_error(request, status=status, message=message, code=code)


def retry_headers(exc: DomainError) -> dict[str, str]:
    """Retry-After for an error that says when to try again (a throttled sign-in)."""
    retry_after = exc.extra.get("retry_after")
    return {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = STATUS_OF_KIND.get(exc.kind, 422)
    log.info("request.refused", code=exc.code, status=status, path=request.url.path)
    if _is_page(request):
        page = _page_error(request, status, exc.message, exc.code)
        page.headers.update(retry_headers(exc))
        return page
    headers = retry_headers(exc)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tongban"'
    return problem(
        request,
        status=status,
        code=exc.code,
        detail=exc.message,
        field=exc.field,
        headers=headers,
        **_simple_extra(exc.extra),
    )


async def database_error_handler(request: Request, exc: Exception) -> Response:
    """A database fault (refused, dropped, timed out) is Unavailable: 503 with Retry-After,
    a Chinese page on the workbench. Any other database error is a defect: raised on to the
    last-resort 500."""
    if not is_database_fault(exc):
        raise exc
    log.warning("database.unavailable", path=request.url.path, error=clean(exc, 300))
    retry_after = request.app.state.rt.settings.db_retry_after_seconds
    return await domain_error_handler(request, unavailable(retry_after))


# --- request validation, in Chinese --------------------------------------------------------

_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "string_type": "应为字符串",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "含有不允许的控制字符",
    "string_unicode": "不是有效的文字（含无法识别的字符）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "literal_error": "取值应为 {expected}",
    "enum": "取值应为 {expected}",
    "list_type": "应为列表（数组）",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "extra_forbidden": "不是可接受的字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "value_error": "格式不正确",
}

_LOCATIONS = {"body", "query", "path", "header", "cookie", "form"}


def field_name(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return clean(".".join(str(p) for p in parts), 80) or "body"


def error_message(error: Mapping[str, Any]) -> str:
    template = _MESSAGES.get(str(error.get("type")), "格式不正确")
    ctx = error.get("ctx") or {}
    if error.get("type") == "string_too_short" and ctx.get("min_length", 1) > 1:
        template = "至少 {min_length} 个字符"
    try:
        return clean(template.format(**{k: clean(v, 100) for k, v in ctx.items()}), 200)
    except (KeyError, IndexError):
        return _MESSAGES.get(str(error.get("type")), "格式不正确")


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for error in errors[:20]:
        # A JSON syntax error's location is ("body", <character offset>): name the body.
        loc = ("body",) if error.get("type") == "json_invalid" else error.get("loc", ())
        out.append({"field": field_name(loc), "message": error_message(error)})
    return out


_FIELD_LABELS = field_labels() | {
    "version": "办件版本",
    "body": "请求内容",
    "slot": "材料",
    "file": "文件",
}


def field_title(field: str) -> str:
    """A field as people read it: its Chinese label, then where it is (reasons.0)."""
    name = next((p for p in reversed(field.split(".")) if not p.isdigit()), field)
    label = _FIELD_LABELS.get(name)
    return f"{label}（{field}）" if label else field


def describe(errors: Sequence[Mapping[str, str]]) -> str:
    return "；".join(f"{field_title(e['field'])}：{e['message']}" for e in errors) + "。"


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    detail = describe(errors)
    if _is_page(request):
        return _page_error(request, 422, detail, "input.invalid")
    return problem(
        request,
        status=422,
        code="input.invalid",
        detail=detail,
        field=errors[0]["field"] if errors else None,
        errors=errors,
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = CODES_OF_STATUS.get(status, f"http.{status}")
    if status == 404:
        detail = "没有这个地址。"
    elif status == 405:
        detail = "该地址不支持此请求方法。"
    elif status == 413:
        detail = "请求内容过大。"
    elif status == 400:
        detail = "请求格式有误，无法解析。"
    else:
        detail = TITLES.get(status, "请求未能处理。")
    if _is_page(request):
        return _page_error(request, status, detail, code)
    return problem(request, status=status, code=code, detail=detail, headers=exc.headers)
