"""case holds: time after acceptance that does not count (补正, 中止, 特别程序); and when
the originals went back to the applicant (原件退还)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("hold", sa.String(length=16), nullable=True))
    op.add_column("cases", sa.Column("hold_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "cases", sa.Column("originals_returned_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    for name in ("originals_returned_at", "hold_until", "hold_since", "hold"):
        # SQLite (3.35+) and PostgreSQL both drop a column in place.
        op.execute(f"ALTER TABLE cases DROP COLUMN {name}")
