"""Keeping the blob store honest: `verify` re-hashes, `gc` sweeps what nothing references."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select

from tongban.models import Case, CaseDocument, CaseFile

from ..core.uow import UnitOfWork

log = structlog.get_logger("tongban.files")


@dataclass(frozen=True)
class FileProblem:
    sha256: str
    problem: str  # "missing" | "altered"
    cases: tuple[str, ...]  # the cases whose rows name it

    def __str__(self) -> str:
        what = "缺失" if self.problem == "missing" else "内容已被改动（哈希不符）"
        where = "、".join(self.cases) if self.cases else "无办件引用"
        return f"{self.sha256}: {what}；所属办件：{where}"


def _references(uow: UnitOfWork) -> dict[str, list[str]]:
    """Every referenced hash, with the case numbers whose rows name it."""
    refs: dict[str, list[str]] = {}
    with uow.reading():
        rows = uow.session.execute(
            select(CaseFile.sha256, Case.case_no)
            .join(Case, Case.id == CaseFile.case_id)
            .order_by(CaseFile.sha256, Case.case_no)
        )
        documents = uow.session.execute(
            select(CaseDocument.blob, Case.case_no)
            .join(Case, Case.id == CaseDocument.case_id)
            .where(CaseDocument.blob.is_not(None))
        )
        for sha, case_no in [*rows, *documents]:  # scans, and the sealed documents issued
            cases = refs.setdefault(sha, [])
            if case_no not in cases:
                cases.append(case_no)
    return refs


def verify(uow: UnitOfWork) -> Iterator[FileProblem]:
    """Each referenced blob that is missing, and each stored blob (referenced or not) whose
    bytes no longer hash to its name."""
    blobs = uow.rt.blobs
    refs = _references(uow)
    for sha in sorted(set(refs) | set(blobs.iterate())):
        cases = tuple(refs.get(sha, ()))
        if not blobs.exists(sha):
            yield FileProblem(sha, "missing", cases)
        elif blobs.rehash(sha) != sha:
            yield FileProblem(sha, "altered", cases)


@dataclass
class Sweep:
    removed: list[str] = field(default_factory=list)  # unreferenced blobs taken away
    kept_young: int = 0  # unreferenced, but within the grace period (an upload in flight)
    temporaries: int = 0  # leftovers of interrupted writes taken away


def gc(uow: UnitOfWork, *, grace_seconds: float, now: float | None = None) -> Sweep:
    """Remove the blobs no row references that are older than `grace_seconds`, and the
    temporary files of interrupted writes as old. The references are read after the
    blobs are listed: a blob whose row commits meanwhile is seen as referenced."""
    blobs = uow.rt.blobs
    at = time.time() if now is None else now
    present = list(blobs.iterate())
    temporaries = list(blobs.temporaries())
    refs = _references(uow)
    sweep = Sweep()
    for sha in present:
        if sha in refs:
            continue
        if blobs.age_seconds(sha, at) < grace_seconds:
            sweep.kept_young += 1
            continue
        blobs.delete(sha)
        sweep.removed.append(sha)
    for temp in temporaries:
        if at - temp.stat().st_mtime >= grace_seconds:
            temp.unlink(missing_ok=True)
            sweep.temporaries += 1
    log.info(
        "files.gc",
        removed=len(sweep.removed),
        kept_young=sweep.kept_young,
        temporaries=sweep.temporaries,
    )
    return sweep
