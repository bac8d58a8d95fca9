"""documents: issued documents per case, the receipt's lookup code, the window's contact

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_documents",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_seq", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issue_seq", sa.Integer(), nullable=False),
        sa.Column("blob", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_documents_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "kind", "source_seq", name=op.f("pk_case_documents")),
    )
    op.add_column("cases", sa.Column("lookup_nonce", sa.String(32), nullable=True))
    op.add_column("cases", sa.Column("lookup_hash", sa.String(64), nullable=True))
    op.add_column(
        "offices", sa.Column("contact", sa.String(200), nullable=False, server_default="")
    )


def downgrade() -> None:
    # SQLite (3.35+) and PostgreSQL both drop a column in place.
    op.execute("ALTER TABLE offices DROP COLUMN contact")
    op.execute("ALTER TABLE cases DROP COLUMN lookup_hash")
    op.execute("ALTER TABLE cases DROP COLUMN lookup_nonce")
    op.drop_table("case_documents")
