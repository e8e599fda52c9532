"""Polled journal systems: a high-water mark per Endpoint, and the inbound updates applied.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_poll_mark",
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("high_water", sa.String(64), nullable=True),
        sa.Column("polled_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("endpoint_id", name="pk_journal_poll_mark"),
    )
    op.create_table(
        "inbound_receipt",
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("via", sa.String(64), nullable=False),
        sa.Column("remote_version", sa.String(128), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "via", "remote_version", name="pk_inbound_receipt"),
    )


def downgrade() -> None:
    op.drop_table("inbound_receipt")
    op.drop_table("journal_poll_mark")
