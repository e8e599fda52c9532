"""The audit chain's head, read under the chain's lock in one round trip (PostgreSQL).

Appending to the chain takes a transaction-scoped advisory lock and then reads the last
link. The read must start after the lock is granted: under READ COMMITTED a statement
sees what was committed when it began, so a read in the same statement as the lock could
miss the links of the transaction it waited for, and fork the chain. A VOLATILE PL/pgSQL
function runs each of its statements with a fresh snapshot, so ``audit_chain_head``
takes the lock, then reads, in one call. SQLite runs one writer at a time and needs
neither.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
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


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION audit_chain_head(bigint)")
