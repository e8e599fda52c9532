"""Marks of which code and key built each resource type's search index.

A store that holds resources when this runs was indexed by releases that kept no marks, so
it gets none, and every type holding resources shows as stale until ``kv-gateway db
reindex --stale`` has rebuilt it. An empty store gets the row ``*``: whatever it holds
later was indexed by code that keeps marks, so the first check records the running
code's fingerprint for every type.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "fhir_search_index_mark",
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("res_type", name="pk_fhir_search_index_mark"),
    )
    holds_resources = op.get_bind().execute(sa.text("SELECT 1 FROM fhir_resource LIMIT 1"))
    if holds_resources.first() is None:
        op.bulk_insert(
            table,
            [
                {
                    "res_type": "*",
                    "fingerprint": None,
                    "marked_at": datetime.now(UTC).replace(tzinfo=None),
                }
            ],
        )


def downgrade() -> None:
    op.drop_table("fhir_search_index_mark")
