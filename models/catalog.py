"""The catalog of items and the versioned operating guides that configure them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Item(Base):
    """A 跨省通办 item (事项) of the national catalog."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("batch", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # "1-01": batch-seq
    batch: Mapped[int]
    seq: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str] = mapped_column(Text, default="")
    lead: Mapped[list[str]] = mapped_column(default=list)
    cooperating: Mapped[list[str]] = mapped_column(default=list)
    lead_missing: Mapped[bool] = mapped_column(default=False)
    deadline_text: Mapped[str | None] = mapped_column(Text)


class GuideVersion(Base):
    """One version of an item's operating guide; a case keeps the version it was received under."""

    __tablename__ = "guide_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # complete | default
    config: Mapped[dict[str, Any]]  # the parsed front matter
    body: Mapped[str] = mapped_column(Text, default="")
    checksum: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime]
