"""A claim token for outbox messages of its own, apart from the attempt count.

A worker's claim was known by the attempt count it left on the row, and an operator's rerun
of a dead message set that count back to zero. A worker whose lease had run out before the
message died could then find its old token matching a new claim after the rerun, and write
its late outcome over the new one. ``claims`` counts every claim and is never reset, so a
token names one claim for the row's whole life; ``attempts`` stays the retry budget.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as table:
        table.add_column(sa.Column("claims", sa.Integer(), nullable=False, server_default="0"))
    # A claim in flight during the upgrade keeps its token.
    op.execute("UPDATE outbox_message SET claims = attempts")


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as table:
        table.drop_column("claims")
