"""Who acts on a case: the applicant's ID document type, a company's 法定代表人, the agent
who appears (代办人/经办人/监护人), and when the case was first forwarded (from then on the
home department sees it)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = (
    ("legal_representative", 100),
    ("agent_name", 100),
    ("agent_document_number", 18),
    ("agent_phone", 32),
    ("agent_relationship", 50),
)
# NULL when nobody appears for the applicant.
_AGENT_ENUMS = (("agent_role", 16), ("agent_document_type", 24))


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch copies the table, and the tables
    # that reference cases would fail the copy's foreign-key check.
    op.add_column(
        "cases",
        sa.Column(
            "applicant_document_type", sa.String(24), nullable=False, server_default="resident_id"
        ),
    )
    for name, length in _TEXT_COLUMNS:
        op.add_column(
            "cases", sa.Column(name, sa.String(length), nullable=False, server_default="")
        )
    for name, length in _AGENT_ENUMS:
        op.add_column("cases", sa.Column(name, sa.String(length), nullable=True))
    op.add_column("cases", sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True))
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("applicant_kind", sa.String),
        sa.column("applicant_document_type", sa.String),
        sa.column("forwarded_at", sa.DateTime(timezone=True)),
    )
    events = sa.table(
        "audit_events", sa.column("case_id", sa.Integer), sa.column("action", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    op.execute(
        cases.update()
        .where(cases.c.applicant_kind == "company")
        .values(applicant_document_type="credit_code")
    )
    first_forward = (
        sa.select(sa.func.min(events.c.at))
        .where(events.c.case_id == cases.c.id, events.c.action == "forward")
        .scalar_subquery()
    )
    op.execute(cases.update().values(forwarded_at=first_forward))


def downgrade() -> None:
    names = ["forwarded_at", *(n for n, _ in _AGENT_ENUMS), *(n for n, _ in _TEXT_COLUMNS)]
    for name in [*names, "applicant_document_type"]:
        # SQLite (3.35+) and PostgreSQL both drop a column in place.
        op.execute(f"ALTER TABLE cases DROP COLUMN {name}")
