"""Operating guides: Markdown files with YAML front matter, versioned into the database."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.models import GuideVersion, Item
from tongban.workflow.guide import GuideConfig, parse_config

from ..core.errors import InvalidInput
from ..core.uow import UnitOfWork
from .validation import SAFE_LOADER, validate_guide


@dataclass(frozen=True)
class GuideText:
    name: str
    front: dict[str, Any]
    body: str
    checksum: str


def split_front_matter(text: str, name: str) -> GuideText:
    if not text.startswith("---\n"):
        raise InvalidInput(f"{name}:1: 操作指南须以 YAML 前言（---）开头。", code="guide.invalid")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise InvalidInput(f"{name}:1: YAML 前言缺少结束标记（---）。", code="guide.invalid")
    front = yaml.load(text[4:end], Loader=SAFE_LOADER) or {}
    if not isinstance(front, dict):
        raise InvalidInput(f"{name}:2: YAML 前言须为键值映射。", code="guide.invalid")
    checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return GuideText(name, front, text[end + 5 :], checksum)


def guide_folder() -> Traversable:
    """The operating guides shipped in the package (docs/operating_guides)."""
    return files("tongban.docs") / "operating_guides"


def guide_files(folder: Traversable | None = None) -> Iterator[Traversable]:
    folder = folder or guide_folder()
    yield from sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)


def latest_guide(session: Session, item_id: int) -> GuideVersion | None:
    return session.scalars(
        select(GuideVersion)
        .where(GuideVersion.item_id == item_id)
        .order_by(GuideVersion.version.desc())
        .limit(1)
    ).first()


def load_guides(uow: UnitOfWork, *, now: datetime, folder: Traversable | None = None) -> int:
    """Add a new guide version for every guide file whose text changed; return how many.

    Refuses (loads nothing) when any guide fails `tongban guides validate`'s checks.
    """
    added = 0
    with uow:
        items = {i.code: i for i in uow.session.scalars(select(Item))}
        for path in guide_files(folder):
            text = path.read_text(encoding="utf-8")
            errors = validate_guide(text, path.name, known_items=items)
            if errors:
                raise InvalidInput(
                    "操作指南未通过校验：" + "；".join(str(e) for e in errors),
                    code="guide.invalid",
                    errors=[str(e) for e in errors],
                )
            guide = split_front_matter(text, path.name)
            item = items[str(guide.front["item"])]
            parse_config(guide.front)  # refuse a guide the workflow could not run on
            latest = latest_guide(uow.session, item.id)
            if latest is not None and latest.checksum == guide.checksum:
                continue
            uow.session.add(
                GuideVersion(
                    item_id=item.id,
                    version=(latest.version + 1) if latest else 1,
                    status=str(guide.front.get("status", "default")),
                    config=guide.front,
                    body=guide.body,
                    checksum=guide.checksum,
                    loaded_at=now,
                )
            )
            added += 1
        uow.commit()
    return added


class GuideConfigs:
    """One runtime's parsed guide configs. Guide versions are immutable rows, so an entry
    never goes stale; each version is read from the database once per runtime."""

    def __init__(self) -> None:
        self._configs: dict[int, GuideConfig] = {}
        self._lock = threading.Lock()

    def get(self, uow: UnitOfWork, guide_version_id: int) -> GuideConfig:
        config = self._configs.get(guide_version_id)
        if config is not None:
            return config
        front = uow.session.scalar(
            select(GuideVersion.config).where(GuideVersion.id == guide_version_id)
        )
        if front is None:
            raise InvalidInput(f"操作指南版本 {guide_version_id} 不存在。", code="guide.not_found")
        config = parse_config(front)
        with self._lock:
            self._configs[guide_version_id] = config
        return config


def config_of(uow: UnitOfWork, guide_version_id: int) -> GuideConfig:
    """The parsed config of a guide version, in `uow`'s open transaction."""
    return uow.rt.guides.get(uow, guide_version_id)
