"""Security: registered clients, used assertion ids, resource parties, audit chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auth_client",
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("party", sa.String(128), nullable=False),
        sa.Column("party_kind", sa.String(32), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_uri", sa.String(512), nullable=True),
        sa.Column("cert_hsa_id", sa.String(64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_auth_client"),
        sa.UniqueConstraint("cert_hsa_id", name="uq_auth_client_cert_hsa_id"),
    )
    op.create_table(
        "auth_used_assertion",
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name="pk_auth_used_assertion"),
    )
    op.create_table(
        "resource_party",
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("party", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("res_type", "res_id", "party", name="pk_resource_party"),
    )
    op.create_index("ix_resource_party_party", "resource_party", ["party", "res_type"])
    op.create_table(
        "audit_chain",
        sa.Column("seq", AutoId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded", sa.DateTime(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_audit_chain_event_id"),
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
    op.drop_index("ix_resource_party_party", table_name="resource_party")
    op.drop_table("resource_party")
    op.drop_table("auth_used_assertion")
    op.drop_table("auth_client")
