"""The national catalog (docs/catalog.yaml, shipped in the package) loaded into the database."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import select

from tongban.models import Item

from .uow import UnitOfWork

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
