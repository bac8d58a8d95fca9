"""Scanned materials of a case: upload into a guide's material slot, list, fetch.

An upload is one unit with its record: the blob is written (fsynced, renamed) first, then
the row and the case's audit event (with the file's SHA-256) commit together. A failed
transaction leaves at most an unreferenced blob, which `tongban files gc` sweeps after a
grace period; never a row naming a blob that is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import Case, CaseFile
from tongban.workflow.actions import UPLOAD, UPLOAD_LABEL, UPLOAD_STATES
from tongban.workflow.guide import GuideConfig
from tongban.workflow.states import STATE_LABELS, Side

from ..audit.chain import append_note
from ..cases.views import FileView
from ..core.errors import FileTooLarge, InvalidInput, NotFound, StaleVersion, TransitionError
from ..core.uow import UnitOfWork
from ..guides.store import config_of
from ..users.actors import Actor
from ..users.scope import check_can_read, out_of_scope, side_for
from .blobs import TooLarge, is_sha256
from .content import KIND_OF_MEDIA, clean_name, examine

log = structlog.get_logger("tongban.files")

_ATTEMPTS = 3  # an upload does not depend on the version seen: retry a concurrent change


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.3g} MiB" if n >= 1 << 20 else f"{n / 1024:.3g} KiB"


def _case(session: Session, case_no: str, *, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.case_no == case_no)
    found = session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if found is None:
        raise out_of_scope(case_no)
    return found


def _check_open(uow: UnitOfWork, case: Case, actor: Actor, slot: str) -> GuideConfig:
    """The actor may upload into `slot` of `case` now; the case's guide."""
    side_for(actor, case, Side.WINDOW, UPLOAD_LABEL)
    if case.state not in UPLOAD_STATES:
        raise TransitionError(
            f"办件当前为「{STATE_LABELS[case.state]}」，不能再上传材料"
            "（已推送的材料以推送时为准；办理地退回补正后可补传）。",
            code="materials.closed",
        )
    config = config_of(uow, case.guide_version_id or 0)
    if config.material(slot) is None:
        known = "、".join(f"{m.code}（{m.name}）" for m in config.materials)
        raise InvalidInput(
            f"材料：操作指南中没有材料「{slot[:64]}」。可选：{known}。", field="slot"
        )
    return config


def file_view(case_no: str, row: CaseFile, slot_name: str) -> FileView:
    kind = KIND_OF_MEDIA.get(row.media_type)
    return FileView(
        slot=row.slot,
        slot_name=slot_name,
        name=row.name,
        size=row.size,
        media_type=row.media_type,
        pages=row.pages,
        sha256=row.sha256,
        uploaded_by=row.uploader_name,
        unit=row.unit,
        uploaded_at=row.uploaded_at,
        url=f"/api/cases/{case_no}/materials/{row.sha256}",
        inline=kind.inline if kind else False,
    )


def upload(
    uow: UnitOfWork,
    *,
    case_no: str,
    slot: str,
    filename: str | None,
    stream: BinaryIO,
    actor: Actor,
    now: datetime,
    after_blob: Callable[[str], None] | None = None,
) -> FileView:
    """Store `stream` as a scan of material `slot` of case `case_no`, uploaded by `actor`."""
    name = clean_name(filename)
    slot = slot.strip()
    with uow.reading():
        config = _check_open(uow, _case(uow.session, case_no), actor, slot)
    blobs = uow.rt.blobs
    limit = uow.rt.settings.max_file_bytes
    try:
        staged = blobs.stage(stream, max_bytes=limit)
    except TooLarge:
        raise FileTooLarge(
            f"文件「{name[:40]}」超过大小上限（{_mib(limit)}），请压缩或分拆后重新上传。",
            field="file",
        ) from None
    with staged:
        if staged.size == 0:
            raise InvalidInput(
                f"文件「{name[:40]}」是空文件（0 字节），请重新扫描后上传。",
                code="file.empty",
                field="file",
            )
        examined = examine(staged.temp, name)
        sha = staged.keep()
    if after_blob is not None:
        after_blob(sha)
    spec = config.material(slot)
    assert spec is not None
    payload = {
        "slot": slot,
        "name": name,
        "size": staged.size,
        "media_type": examined.kind.media_type,
        **({"pages": examined.pages} if examined.pages is not None else {}),
        "sha256": sha,
    }
    for attempt in range(_ATTEMPTS):
        try:
            row = _record(uow, case_no, slot, payload, actor, now)
            break
        except StaleVersion:
            if attempt == _ATTEMPTS - 1:
                raise
    log.info(
        "file.upload",
        case_no=case_no,
        user=actor.username,
        slot=slot,
        sha256=sha,
        size=staged.size,
        media_type=examined.kind.media_type,
    )
    return file_view(case_no, row, spec.name)


def _record(
    uow: UnitOfWork,
    case_no: str,
    slot: str,
    payload: dict[str, object],
    actor: Actor,
    now: datetime,
) -> CaseFile:
    """The file's row and its audit event, in one transaction (the blob is already kept)."""
    with uow:
        session = uow.session
        case = _case(session, case_no, lock=True)
        _check_open(uow, case, actor, slot)  # it may have moved since the first look
        row = CaseFile(
            case_id=case.id,
            slot=slot,
            name=str(payload["name"]),
            size=int(str(payload["size"])),
            media_type=str(payload["media_type"]),
            pages=payload.get("pages"),
            sha256=str(payload["sha256"]),
            uploaded_by=actor.user_id,
            uploader_name=actor.display_name,
            unit=actor.unit,
            uploaded_at=now,
        )
        # An upload changes no state: an action the clerk opened before it still applies.
        append_note(
            session, uow.rt.key, case, actor, action=UPLOAD, at=now, payload=dict(payload),
            touch=True,
        )  # fmt: skip
        session.add(row)
        session.flush()
        session.expunge(row)
        uow.commit()
    return row


def list_files(uow: UnitOfWork, *, actor: Actor, case_no: str) -> list[FileView]:
    """The case's scans, in upload order, for an actor who may read the case."""
    with uow.reading():
        session = uow.session
        case = _case(session, case_no)
        check_can_read(session, actor, case)
        config = config_of(uow, case.guide_version_id) if case.guide_version_id else None
        return files_of(session, case, config)


def files_of(session: Session, case: Case, config: GuideConfig | None) -> list[FileView]:
    names = {m.code: m.name for m in (config.materials if config else ())}
    rows = session.scalars(
        select(CaseFile).where(CaseFile.case_id == case.id).order_by(CaseFile.id)
    )
    return [file_view(case.case_no, r, names.get(r.slot, r.slot)) for r in rows]


@dataclass(frozen=True)
class Download:
    path: Path
    name: str
    media_type: str
    inline: bool
    size: int


def download(uow: UnitOfWork, *, actor: Actor, case_no: str, sha256: str) -> Download:
    """The stored file `sha256` of case `case_no`, checked like a read of the case: outside
    the actor's scope, or not a file of this case, it is not found."""
    with uow.reading():
        session = uow.session
        case = _case(session, case_no)
        check_can_read(session, actor, case)
        row = (
            session.scalars(
                select(CaseFile)
                .where(CaseFile.case_id == case.id, CaseFile.sha256 == sha256)
                .order_by(CaseFile.id)
                .limit(1)
            ).one_or_none()
            if is_sha256(sha256)
            else None
        )
    if row is None:
        raise NotFound(f"办件「{case_no}」没有这个材料文件。", code="file.not_found")
    blobs = uow.rt.blobs
    if not blobs.exists(sha256):
        log.error("file.missing", case_no=case_no, sha256=sha256)
        raise NotFound(
            f"材料文件「{row.name}」在文件库中缺失，请联系管理员（tongban files verify）。",
            code="file.missing",
        )
    kind = KIND_OF_MEDIA.get(row.media_type)
    log.info("file.download", case_no=case_no, user=actor.username, sha256=sha256)
    return Download(
        path=blobs.path(sha256),
        name=row.name,
        media_type=row.media_type,
        inline=kind.inline if kind else False,
        size=row.size,
    )
