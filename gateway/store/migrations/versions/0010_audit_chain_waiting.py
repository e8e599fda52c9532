"""Appending to the audit chain without waiting for it (PostgreSQL).

Until now a transaction that wrote AuditEvents took the chain's advisory lock and held it
to its commit, so under load every request queued behind the one holding the chain, and
that one's Python thread waited for its process's GIL between each round trip. Now
``audit_chain_claim`` only *tries* the lock:

* granted: it returns the chain's head and takes (deletes) the list of events waiting
  to be linked; the transaction links those first, then its own;
* not granted: it returns no head; the transaction stores its events and records them in
  ``audit_chain_waiting``, to be linked by the next transaction that gets the chain (or
  by the sealer every serving process runs).

As in 0009, the reads happen after the lock is granted, each with a fresh snapshot.
``audit_chain_claim`` replaces 0009's ``audit_chain_head``, which is dropped.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_chain_waiting",
        sa.Column("seq", AutoId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_audit_chain_waiting_event_id"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION audit_chain_claim(lock_key bigint, OUT head varchar, OUT waiting varchar[])
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF NOT pg_try_advisory_xact_lock(lock_key) THEN
                RETURN;
            END IF;
            head := COALESCE(
                (SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1), repeat('0', 64)
            );
            WITH taken AS (DELETE FROM audit_chain_waiting RETURNING seq, event_id)
            SELECT array_agg(event_id ORDER BY seq) INTO waiting FROM taken;
        END
        $$
        """
    )
    op.execute("DROP FUNCTION audit_chain_head(bigint)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_chain_claim(bigint)")
        op.execute(
            """
            CREATE FUNCTION audit_chain_head(lock_key bigint) RETURNS varchar
            LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_key);
                RETURN (SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1);
            END
            $$
            """
        )
    op.drop_table("audit_chain_waiting")
