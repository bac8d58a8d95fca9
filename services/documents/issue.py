"""Issuing a document: render it from the case, record its first issue, seal it.

The first issue of a document (a kind, rendered from one audit event) appends a
`document_issued` event carrying the SHA-256 of the unsigned render, and a `case_documents`
row; a later download renders the same bytes again and records nothing. The receipt's
first issue also gives the case its lookup code. Issuing never moves the case's version,
so a form someone has open stays valid while a paper is printed.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import structlog
from sqlalchemy import Table, select, update

from tongban.models import Case, CaseDocument

from ..audit.chain import append_note
from ..core.errors import InvalidInput, StaleVersion
from ..core.runtime import Runtime
from ..core.uow import UnitOfWork
from ..guides.store import config_of
from ..users.actors import Actor
from ..users.scope import check_can_read, out_of_scope
from .kinds import DOCUMENT_ISSUED, KIND_LABELS, SPECS, Kind, kind_of
from .loader import CaseRecord, applicable, build_document, read_case, sorted_kinds
from .lookup import derive_code, hash_code, new_nonce
from .render import render
from .seal import Seal, load_seal, seal_pdf

log = structlog.get_logger("tongban.documents")


@dataclass(frozen=True)
class IssuedDocument:
    """A document as handed out: the PDF (sealed unless asked otherwise) and the SHA-256
    of its unsigned render, the one the audit event records. The seam for a blob store:
    keep `pdf` under `sha256`."""

    case_no: str
    kind: Kind
    title: str
    doc_no: str
    source_seq: int
    sha256: str
    pdf: bytes
    sealed: bool
    first_issue: bool
    matches_record: bool  # the render equals the hash recorded at its first issue

    @property
    def filename(self) -> str:
        return f"{self.doc_no}.pdf"


@dataclass(frozen=True)
class DocumentLink:
    kind: str
    label: str


def parse_kind(text: str) -> Kind:
    kind = kind_of(text)
    if kind is None:
        known = "、".join(f"{k.value}（{KIND_LABELS[k]}）" for k in Kind)
        raise InvalidInput(f"文书种类：没有「{text}」这种文书。可选：{known}。", field="kind")
    return kind


def seal_of(rt: Runtime) -> Seal:
    """The deployment's seal, loaded once per runtime."""
    if rt.seal is None:
        rt.seal = load_seal(rt.settings)
    return rt.seal


def _load(uow: UnitOfWork, case_no: str, actor: Actor | None) -> CaseRecord:
    session = uow.session
    case = session.scalars(select(Case).where(Case.case_no == case_no)).one_or_none()
    if case is None:
        raise out_of_scope(case_no)
    if actor is not None:
        check_can_read(session, actor, case)
    guide = config_of(uow, case.guide_version_id) if case.guide_version_id else None
    return read_case(session, case, guide)


def _stored(uow: UnitOfWork, blob: str | None) -> bytes | None:
    """The sealed bytes kept at the first issue, when the store still has them intact."""
    if blob is None or not uow.rt.blobs.exists(blob):
        return None
    with uow.rt.blobs.open(blob) as f:
        data = f.read()
    return data if hashlib.sha256(data).hexdigest() == blob else None


def _keep(uow: UnitOfWork, case_no: str, kind: Kind, source_seq: int, pdf: bytes) -> None:
    """Keep the sealed bytes in the blob store (content-addressed, like the scans) and name
    them on the document's row. A crash in between leaves the row without a blob: the next
    issue seals and keeps again, and `tongban files gc` sweeps the orphan."""
    blob, _size = uow.rt.blobs.put(io.BytesIO(pdf))
    with uow:
        uow.session.execute(
            update(CaseDocument)
            .where(
                CaseDocument.case_id
                == select(Case.id).where(Case.case_no == case_no).scalar_subquery(),
                CaseDocument.kind == kind.value,
                CaseDocument.source_seq == source_seq,
            )
            .values(blob=blob)
        )
        uow.commit()


def document_links(uow: UnitOfWork, *, actor: Actor, case_no: str) -> list[DocumentLink]:
    """The documents the case has now, for the actor (print buttons)."""
    with uow.reading():
        record = _load(uow, case_no, actor)
        kinds = applicable(record)
    return [DocumentLink(k.value, KIND_LABELS[k]) for k in sorted_kinds(kinds)]


def issue_document(
    uow: UnitOfWork,
    *,
    case_no: str,
    kind: Kind,
    actor: Actor | None,
    now: datetime,
    sealed: bool = True,
) -> IssuedDocument:
    """Document `kind` of `case_no` for `actor` (None: the system, e.g. the command line),
    recorded at its first issue. Outside the actor's scope the case is not found."""
    for attempt in (1, 2):
        try:
            return _issue(uow, case_no, kind, actor, now, sealed)
        except StaleVersion:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _issue(
    uow: UnitOfWork, case_no: str, kind: Kind, actor: Actor | None, now: datetime, sealed: bool
) -> IssuedDocument:
    settings = uow.rt.settings
    key = uow.rt.key
    with uow:
        record = _load(uow, case_no, actor)
        case = record.case
        if kind is Kind.RECEIPT and not case.lookup_nonce:
            _give_lookup_code(uow, case)
        doc, source = build_document(
            record,
            kind,
            key=key,
            public_url=settings.public_url,
        )
        unsigned = render(doc)
        sha = hashlib.sha256(unsigned).hexdigest()
        title, doc_no = SPECS[kind].title, doc.header.doc_no
        existing = uow.session.get(CaseDocument, (case.id, kind.value, source.seq))
        first = existing is None
        if existing is None:
            _record(uow, case, actor, kind, source.seq, sha, doc_no, now)
            uow.commit()
        elif existing.sha256 != sha:
            log.warning(
                "document.hash_mismatch",
                case_no=case_no,
                kind=kind.value,
                recorded=existing.sha256,
                rendered=sha,
            )
        at = doc.header.issued_at
        issuer = doc.header.issuer
        kept = existing.blob if existing is not None and existing.sha256 == sha else None
    pdf = unsigned
    if sealed:
        stored = _stored(uow, kept)
        if stored is not None:
            pdf = stored  # the sealed copy issued first: the same bytes every time
        else:
            pdf = seal_pdf(seal_of(uow.rt), unsigned, at=at, reason=f"出具{title}", location=issuer)
            _keep(uow, case_no, kind, source.seq, pdf)
    log.info(
        "document.issued",
        case_no=case_no,
        kind=kind.value,
        user=actor.username if actor else "system",
        first=first,
        sha256=sha,
    )
    return IssuedDocument(
        case_no=case_no,
        kind=kind,
        title=title,
        doc_no=doc_no,
        source_seq=source.seq,
        sha256=sha,
        pdf=pdf,
        sealed=sealed,
        first_issue=first,
        matches_record=existing is None or existing.sha256 == sha,
    )


def _give_lookup_code(uow: UnitOfWork, case: Case) -> None:
    """Give the case its lookup code; stored as its nonce and the code's hash."""
    nonce = new_nonce()
    code = derive_code(uow.rt.key.secret, case.case_no, nonce)
    cases = cast(Table, Case.__table__)
    uow.session.execute(
        update(cases)
        .where(cases.c.id == case.id, cases.c.lookup_nonce.is_(None))
        .values(lookup_nonce=nonce, lookup_hash=hash_code(case.case_no, code))
    )
    uow.session.refresh(case, ["lookup_nonce", "lookup_hash"])


def _record(
    uow: UnitOfWork,
    case: Case,
    actor: Actor | None,
    kind: Kind,
    source_seq: int,
    sha: str,
    doc_no: str,
    now: datetime,
) -> None:
    """The issue's audit event (the case's version stays) and its row."""
    session = uow.session
    link = append_note(
        session,
        uow.rt.key,
        case,
        actor,
        action=DOCUMENT_ISSUED,
        at=now,
        payload={
            "kind": kind.value,
            "title": SPECS[kind].title,
            "doc_no": doc_no,
            "source_seq": source_seq,
            "sha256": sha,
        },
    )
    session.add(
        CaseDocument(
            case_id=case.id,
            kind=kind.value,
            source_seq=source_seq,
            sha256=sha,
            issued_at=now,
            issue_seq=link.seq,
        )
    )


def recorded_hashes(uow: UnitOfWork, case_no: str) -> dict[tuple[str, int], str]:
    """(kind, source event) -> the SHA-256 recorded at first issue, for re-checking."""
    with uow.reading():
        rows = uow.session.execute(
            select(CaseDocument.kind, CaseDocument.source_seq, CaseDocument.sha256)
            .join(Case, Case.id == CaseDocument.case_id)
            .where(Case.case_no == case_no)
        ).all()
    if not rows:
        return {}
    return {(k, s): h for k, s, h in rows}
