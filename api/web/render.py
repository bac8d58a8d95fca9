"""Template rendering for the workbench: the Jinja2 environment, display filters, pages.

Filters only format (local time, labels); what a value means (overdue, warning, which
actions are open) comes computed from services.queries.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tongban.services.users.actors import Actor
from tongban.workflow.calendar import SHANGHAI, local_due, local_minute
from tongban.workflow.commands import field_labels
from tongban.workflow.delivery import DELIVERY_LABELS, DeliveryMethod
from tongban.workflow.holds import PROCEDURE_LABELS
from tongban.workflow.identity import APPLICANT_KIND_LABELS, DOCUMENT_LABELS, PERSONAL_DOCUMENTS
from tongban.workflow.parties import AGENT_ROLE_LABELS, PRESENT_LABELS
from tongban.workflow.roles import ROLE_LABELS
from tongban.workflow.states import STATE_LABELS, State

HERE = Path(__file__).parent

# What an audit event's payload holds, by key: the commands' own fields, and what the
# receipt and the sweeper record ("document" is how events before 2026-11 named the ID).
PAYLOAD_LABELS: dict[str, str] = field_labels() | {
    "item": "事项",
    "guide_version": "指南版本",
    "department": "办理地部门",
    "applicant_id": "申请人证件号",
    "originals_required": "需寄递原件",
    "notice_items": "告知补正",
    "document": "核验证件号",
    "document_number": "核验证件号",
    "agent_role": "代理人类别",
    "agent_name": "代理人",
    "agent_id": "代理人证件号",
    "verified": "核验对象",
    "verified_name": "被核验人",
    "remedies": "救济途径",
    "decision_label": "决定",
    "default_guide_confirmed": "已确认按默认指南收件",
    # An uploaded scan (上传材料).
    "slot": "材料",
    "name": "文件名",
    "size": "字节数",
    "media_type": "类型",
    "pages": "页数",
    "sha256": "SHA-256",
    "licences": "电子证照编号",
}

_VALUE_LABELS: dict[str, str] = {
    **{k.value: label for k, label in APPLICANT_KIND_LABELS.items()},
    **{m.value: label for m, label in DELIVERY_LABELS.items()},
    **{d.value: label for d, label in DOCUMENT_LABELS.items()},
    **{r.value: label for r, label in AGENT_ROLE_LABELS.items()},
    **{p.value: label for p, label in PRESENT_LABELS.items()},
    **{p.value: label for p, label in PROCEDURE_LABELS.items()},
}


def local_time(value: datetime | None) -> str:
    return local_minute(value, missing="")


def due_time(value: datetime | None) -> str:
    return local_due(value, missing="")


def short_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def day(value: date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def payload_items(payload: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in payload.items():
        if isinstance(value, bool):
            text = "是" if value else "否"
        elif isinstance(value, list):
            text = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = "、".join(f"{k}：{v}" for k, v in value.items())
        else:
            text = _VALUE_LABELS.get(str(value), str(value))
        out.append((PAYLOAD_LABELS.get(key, key), text))
    return out


def lines(values: list[str] | None) -> str:
    return "\n".join(values or [])


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    local_time=local_time,
    due_time=due_time,
    short_time=short_time,
    day=day,
    payload_items=payload_items,
    lines=lines,
)
templates.env.globals.update(
    PROCEDURE_OPTIONS=list(PROCEDURE_LABELS.items()),
    STATE_OPTIONS=[(s.value, STATE_LABELS[s]) for s in State],
    DELIVERY_LABELS={m.value: label for m, label in DELIVERY_LABELS.items()},
    DELIVERY_METHODS=[m.value for m in DeliveryMethod],
    PERSON_DOCUMENTS=[(d.value, DOCUMENT_LABELS[d]) for d in PERSONAL_DOCUMENTS],
    AGENT_ROLES=[(r.value, label) for r, label in AGENT_ROLE_LABELS.items()],
)


def render(
    request: Request,
    name: str,
    *,
    me: Actor | None = None,
    csrf: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "me": me,
            "role_label": ROLE_LABELS[me.role] if me else "",
            "csrf": csrf,
            **context,
        },
        status_code=status,
    )


def render_error(request: Request, *, status: int, message: str, code: str) -> HTMLResponse:
    return render(request, "error.html", status=status, message=message, code=code)
