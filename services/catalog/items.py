"""The national catalog (docs/catalog.yaml, shipped in the package) loaded into the database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.models import GuideVersion, Item

from ..core.errors import InvalidInput, NotFound
from ..core.uow import UnitOfWork

_FIELDS = ("batch", "seq", "name", "scenario", "lead", "cooperating", "lead_missing")


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    unchanged: int


def read_catalog() -> list[dict[str, Any]]:
    text = (files("tongban.docs") / "catalog.yaml").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = yaml.safe_load(text)
    return rows


def load_catalog(uow: UnitOfWork) -> LoadReport:
    """Upsert every catalog row by its code: reloading never duplicates an item, never
    deletes one (cases link to items), and only touches rows whose printed data changed."""
    rows = read_catalog()
    with uow:
        existing = {item.code: item for item in uow.session.scalars(select(Item))}
        added = updated = 0
        for row in rows:
            values = {name: row[name] for name in _FIELDS}
            values["scenario"] = values["scenario"] or ""
            values["deadline_text"] = row.get("deadline")
            item = existing.get(row["code"])
            if item is None:
                uow.session.add(Item(code=row["code"], **values))
                added += 1
            elif any(getattr(item, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(item, k, v)
                updated += 1
        uow.commit()
    return LoadReport(added, updated, len(rows) - added - updated)


# ---- reading the catalog back: export, search, detail ---------------------------------------

EXPORT_FIELDS = (
    "code",
    "batch",
    "seq",
    "name",
    "scenario",
    "lead",
    "cooperating",
    "lead_missing",
    "deadline",
    "guide_status",
)
MODES = ("proxy", "joint", "online")
MAX_LIMIT = 200
MAX_QUERY_CHARS = 100


@dataclass(frozen=True)
class ItemSummary:
    code: str
    batch: int
    seq: int
    name: str
    scenario: str
    lead: list[str]  # unit names as printed; empty when the catalog prints none
    cooperating: list[str]
    lead_missing: bool
    deadline: str | None  # 完成时限 as printed (third batch only)
    guide_status: str | None  # complete | default; None while no guide is loaded
    modes: list[str]  # from the latest guide


@dataclass(frozen=True)
class ItemPage:
    total: int
    limit: int
    offset: int
    items: list[ItemSummary]


@dataclass(frozen=True)
class GuideInfo:
    version: int
    status: str
    defaults_notice: str | None
    loaded_at: datetime
    config: dict[str, Any]  # the front matter
    body: str  # Markdown


@dataclass(frozen=True)
class ItemDetail(ItemSummary):
    guide: GuideInfo | None = None


def _latest_guides(session: Session, item_id: int | None = None) -> dict[int, GuideVersion]:
    newest = select(GuideVersion.item_id, func.max(GuideVersion.version).label("version"))
    if item_id is not None:
        newest = newest.where(GuideVersion.item_id == item_id)
    sub = newest.group_by(GuideVersion.item_id).subquery()
    rows = session.scalars(
        select(GuideVersion).join(
            sub,
            (GuideVersion.item_id == sub.c.item_id) & (GuideVersion.version == sub.c.version),
        )
    )
    return {g.item_id: g for g in rows}


def _summary(item: Item, guide: GuideVersion | None) -> dict[str, Any]:
    return {
        "code": item.code,
        "batch": item.batch,
        "seq": item.seq,
        "name": item.name,
        "scenario": item.scenario,
        "lead": list(item.lead),
        "cooperating": list(item.cooperating),
        "lead_missing": item.lead_missing,
        "deadline": item.deadline_text,
        "guide_status": guide.status if guide else None,
        "modes": [str(m) for m in (guide.config.get("modes") or ())] if guide else [],
    }


def _all_items(session: Session) -> list[tuple[Item, GuideVersion | None]]:
    guides = _latest_guides(session)
    items = session.scalars(select(Item).order_by(Item.batch, Item.seq))
    return [(item, guides.get(item.id)) for item in items]


def export_catalog(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every item in catalog order with EXPORT_FIELDS (units as lists of printed names)."""
    with uow.reading():
        rows = [
            {k: v for k, v in _summary(item, guide).items() if k in EXPORT_FIELDS}
            for item, guide in _all_items(uow.session)
        ]
    if not rows:
        raise InvalidInput(
            "数据库中没有事项清单；请先运行 tongban init（或 tongban catalog load）。",
            code="catalog.empty",
        )
    return rows


def catalog_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text with a UTF-8 BOM (so Excel reads it as UTF-8); units joined by 、."""

    def cell(value: Any) -> str:
        if isinstance(value, list):
            return "、".join(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    for row in rows:
        writer.writerow([cell(row[k]) for k in EXPORT_FIELDS])
    return "\ufeff" + out.getvalue()


def search_items(
    uow: UnitOfWork,
    *,
    q: str | None = None,
    unit: str | None = None,
    batch: int | None = None,
    mode: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> ItemPage:
    """Items matching every given filter, in catalog order.

    `q`: each whitespace-separated term in the code, name or scenario; `unit`: a fragment of
    a lead or cooperating unit's name; `mode`: among the latest guide's modes. The catalog is
    140 rows, so the filters run in Python (unit lists are JSON, not portable to query).
    """
    if batch is not None and batch not in (1, 2, 3):
        raise InvalidInput("清单批次：应为 1、2 或 3。", field="batch")
    if mode is not None and mode not in MODES:
        raise InvalidInput(f"办理模式：应为 {'、'.join(MODES)} 之一。", field="mode")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"每页条数：应在 1 到 {MAX_LIMIT} 之间。", field="limit")
    if offset < 0:
        raise InvalidInput("起始位置：不能为负数。", field="offset")
    if q is not None and len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(f"查询词：不能超过 {MAX_QUERY_CHARS} 个字符。", field="q")
    terms = (q or "").split()
    unit = (unit or "").strip()
    hits = []
    with uow.reading():
        found = _all_items(uow.session)
    for item, guide in found:
        row = _summary(item, guide)
        text = f"{item.code} {item.name} {item.scenario}"
        if terms and not all(t in text for t in terms):
            continue
        if unit and not any(unit in u for u in (*item.lead, *item.cooperating)):
            continue
        if batch is not None and item.batch != batch:
            continue
        if mode is not None and mode not in row["modes"]:
            continue
        hits.append(ItemSummary(**row))
    return ItemPage(len(hits), limit, offset, hits[offset : offset + limit])


def item_detail(uow: UnitOfWork, code: str) -> ItemDetail:
    """One item with its latest guide (config, body, status), or NotFound."""
    with uow.reading():
        item = uow.session.scalars(select(Item).where(Item.code == code)).one_or_none()
        if item is None:
            raise NotFound(f"事项「{code}」不在事项清单中。", code="item.not_found")
        guide = _latest_guides(uow.session, item.id).get(item.id)
    info = (
        GuideInfo(
            version=guide.version,
            status=guide.status,
            defaults_notice=guide.config.get("defaults_notice"),
            loaded_at=guide.loaded_at,
            config=dict(guide.config),
            body=guide.body,
        )
        if guide
        else None
    )
    return ItemDetail(**_summary(item, guide), guide=info)
