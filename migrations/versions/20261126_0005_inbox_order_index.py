"""inbox order index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 11:45:00

The inbox's order (cases without a deadline last, then by next deadline, then by id) as an index
that also carries the scope and stage columns, so listing a whole city walks it and stops when
the page is full (services/case_list.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_due_order",
        "cases",
        [sa.text("(next_due IS NULL)"), "next_due", "id", "org_unit_id", "state"],
    )


def downgrade() -> None:
    op.drop_index("ix_cases_due_order", table_name="cases")
