"""annual report indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00

The annual report's populations and stage figures read from indexes alone (index-only scans):
the stage events' (case_id, trigger) — a partial index over the stage triggers only — and the
agreements by signing date (with the columns the figures average) and by term end
(services/reports/annual.py; benchmarks/annual_report.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STAGE = (
    "trigger IN ('disclose', 'file_for_review', 'open_renewal', 'record_response', "
    "'record_review_opinion', 'send_offer') "
    "OR (trigger = 'record_congress_vote' AND to_state = 'awaiting_signature')"
)


def upgrade() -> None:
    op.create_index(
        "ix_events_stage_case",
        "events",
        ["case_id", "trigger"],
        postgresql_where=sa.text(STAGE),
        sqlite_where=sa.text(STAGE),
    )
    op.create_index(
        "ix_agreements_signed_on",
        "agreements",
        ["signed_on", "case_id", "term_end", "avg_wage_before", "avg_wage_after", "increase_pct"],
    )
    op.create_index(
        "ix_agreements_term_end", "agreements", ["term_end", "in_force_on", "case_id", "signed_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_agreements_term_end", table_name="agreements")
    op.drop_index("ix_agreements_signed_on", table_name="agreements")
    op.drop_index("ix_events_stage_case", table_name="events")
