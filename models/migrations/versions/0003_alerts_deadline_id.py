"""alerts.clock_id becomes alerts.deadline_id: one name for a stage's time everywhere

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    # Batch mode: ALTERs on PostgreSQL, a table copy on SQLite (which cannot drop
    # constraints). Two batches: SQLite's copy drops a new constraint on a column that the
    # same batch renames, silently.
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(f"uq_alerts_{old}_kind_level", type_="unique")
        batch_op.drop_constraint(f"fk_alerts_{old}_deadlines", type_="foreignkey")
        batch_op.alter_column(old, new_column_name=new)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_unique_constraint(f"uq_alerts_{new}_kind_level", [new, "kind", "level"])
        batch_op.create_foreign_key(f"fk_alerts_{new}_deadlines", "deadlines", [new], ["id"])


def upgrade() -> None:
    _rename("clock_id", "deadline_id")


def downgrade() -> None:
    _rename("deadline_id", "clock_id")
