"""department_items: the items each home department handles (routing)

Existing departments keep every item they already have cases of, so that an upgrade
refuses nothing that was received before; the admin declares the rest
(`tongban departments items`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department_items",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_department_items_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_department_items_item_id_items")
        ),
        sa.PrimaryKeyConstraint("department_id", "item_id", name=op.f("pk_department_items")),
    )
    op.create_index(
        op.f("ix_department_items_item_id"), "department_items", ["item_id"], unique=False
    )
    op.execute(
        "INSERT INTO department_items (department_id, item_id)"
        " SELECT DISTINCT department_id, item_id FROM cases"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_department_items_item_id"), table_name="department_items")
    op.drop_table("department_items")
