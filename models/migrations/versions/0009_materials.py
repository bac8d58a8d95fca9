"""case_files: scanned materials by SHA-256; case_materials.licence_no

Each uploaded scan is a row naming its case, the guide's material slot, the name it was
uploaded under, its size, media type, PDF page count and SHA-256 (the bytes live in the
content-addressed blob store, services.files). A material verified through an electronic
licence keeps the licence's number.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploader_name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_files_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_case_files_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_files")),
    )
    op.create_index(op.f("ix_case_files_case_id"), "case_files", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_files_sha256"), "case_files", ["sha256"], unique=False)
    with op.batch_alter_table("case_materials") as batch_op:
        batch_op.add_column(
            sa.Column("licence_no", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("case_materials") as batch_op:
        batch_op.drop_column("licence_no")
    op.drop_index(op.f("ix_case_files_sha256"), table_name="case_files")
    op.drop_index(op.f("ix_case_files_case_id"), table_name="case_files")
    op.drop_table("case_files")
