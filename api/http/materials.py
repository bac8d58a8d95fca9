"""Scanned materials of a case: upload (multipart `slot` and `file`), list, download.

A download is scoped like a read of the case (404 outside it), never sniffed by the
browser (`X-Content-Type-Options: nosniff`), shown inline only for PDF and images, and
logged (services.files.materials).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from fastapi.responses import FileResponse

from tongban.services.cases.views import FileView
from tongban.services.files import materials

from ..deps import CurrentActor, NowDep, RuntimeDep
from .bodies import NO_CONTROL
from .cases import CaseNo

router = APIRouter(prefix="/api/cases", tags=["materials"])

Slot = Annotated[
    str,
    Form(min_length=1, max_length=64, pattern=NO_CONTROL, description="材料编码（指南中的材料）"),
]
Sha = Annotated[str, Path(min_length=1, max_length=64, description="文件的 SHA-256")]


@router.post("/{case_no}/materials", response_model=FileView, status_code=201)
def upload_material(
    case_no: CaseNo,
    slot: Slot,
    file: Annotated[UploadFile, File(description="扫描件：PDF、JPEG、PNG 或 OFD")],
    response: Response,
    actor: CurrentActor,
    rt: RuntimeDep,
    now: NowDep,
) -> FileView:
    """上传材料 (the receiving window): a scan into one of the guide's material slots.
    415 for content that is no PDF, JPEG, PNG or OFD (or not what its name says, or an
    encrypted PDF), 413 over the configured size."""
    view = materials.upload(
        rt.uow(),
        case_no=case_no,
        slot=slot,
        filename=file.filename,
        stream=file.file,
        actor=actor,
        now=now,
    )
    response.headers["Location"] = view.url
    return view


@router.get("/{case_no}/materials", response_model=list[FileView])
def list_materials(case_no: CaseNo, actor: CurrentActor, rt: RuntimeDep) -> list[FileView]:
    """The case's scanned files, in upload order."""
    return materials.list_files(rt.uow(), actor=actor, case_no=case_no)


def disposition(kind: str, name: str, fallback: str) -> str:
    """`inline` or `attachment`, with an ASCII fallback name and the real one (RFC 6266)."""
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/{case_no}/materials/{sha256}",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}, "image/*": {}, "application/ofd": {}}}},
)
def download_material(
    case_no: CaseNo, sha256: Sha, actor: CurrentActor, rt: RuntimeDep
) -> FileResponse:
    """One scanned file: PDF and images inline, anything else as an attachment."""
    found = materials.download(rt.uow(), actor=actor, case_no=case_no, sha256=sha256)
    ext = found.name.rsplit(".", 1)[-1].lower() if "." in found.name else "bin"
    fallback = f"{sha256[:16]}.{ext if ext.isascii() and ext.isalnum() else 'bin'}"
    headers = {
        "Content-Disposition": disposition(
            "inline" if found.inline else "attachment", found.name, fallback
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return FileResponse(found.path, media_type=found.media_type, headers=headers)
