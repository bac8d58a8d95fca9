"""Documents (文书) of a case as sealed PDFs: GET /api/cases/{case_no}/documents/{kind}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from tongban.services.documents.issue import issue_document, parse_kind
from tongban.services.documents.kinds import Kind

from ..deps import CurrentActor, NowDep, RuntimeDep
from .cases import CaseNo

router = APIRouter(prefix="/api/cases", tags=["documents"])

KindPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=32,
        description="文书种类：" + " | ".join(k.value for k in Kind),
    ),
]

_PROBLEM: dict[str, dict[str, Any]] = {"application/problem+json": {}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "盖有电子印章的PDF。"},
    404: {
        "content": _PROBLEM,
        "description": "case.not_found：办件不存在或不在调用者的范围内。",
    },
    409: {
        "content": _PROBLEM,
        "description": (
            "document.not_applicable：本件当前没有这种文书（例如未作出决定时的审批结果通知书）。"
        ),
    },
    422: {"content": _PROBLEM, "description": "input.invalid：没有这种文书种类。"},
}


@router.get(
    "/{case_no}/documents/{kind}",
    response_class=Response,
    responses=RESPONSES,
)
def case_document(
    case_no: CaseNo, kind: KindPath, actor: CurrentActor, rt: RuntimeDep, now: NowDep
) -> Response:
    """A case's document, sealed (PAdES). Its first issue is recorded in the audit chain with
    the SHA-256 of the unsigned render, given here as X-Content-SHA256."""
    doc = issue_document(rt.uow(), case_no=case_no, kind=parse_kind(kind), actor=actor, now=now)
    return Response(
        content=doc.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{doc.filename}"',
            "X-Content-SHA256": doc.sha256,
            "Cache-Control": "private, no-store",
        },
    )
