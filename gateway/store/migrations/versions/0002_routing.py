"""Routing: the local listing register, the routing table (vägval) and the authorisation
table (anropsbehörighet).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "listing_entry",
        sa.Column("row_id", AutoId, autoincrement=True, nullable=False),
        sa.Column("person_key", sa.LargeBinary(32), nullable=False),
        sa.Column("hsa_id", sa.String(64), nullable=False),
        sa.Column("lanskod", sa.String(2), nullable=False),
        sa.Column("listing_type", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("protected_identity", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("row_id", name="pk_listing_entry"),
        sa.UniqueConstraint(
            "person_key",
            "hsa_id",
            "listing_type",
            "valid_from",
            name="uq_listing_entry_natural_key",
        ),
    )
    op.create_table(
        "routing_route",
        sa.Column("row_id", AutoId, autoincrement=True, nullable=False),
        sa.Column("service_contract", sa.String(255), nullable=False),
        sa.Column("logical_address", sa.String(64), nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name="pk_routing_route"),
    )
    op.create_index(
        "ix_routing_route_lookup", "routing_route", ["service_contract", "logical_address"]
    )
    op.create_table(
        "routing_authorisation",
        sa.Column("row_id", AutoId, autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("service_contract", sa.String(255), nullable=False),
        sa.Column("logical_address", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name="pk_routing_authorisation"),
    )
    op.create_index(
        "ix_routing_authorisation_lookup",
        "routing_authorisation",
        ["consumer", "service_contract", "logical_address"],
    )


def downgrade() -> None:
    op.drop_index("ix_routing_authorisation_lookup", table_name="routing_authorisation")
    op.drop_table("routing_authorisation")
    op.drop_index("ix_routing_route_lookup", table_name="routing_route")
    op.drop_table("routing_route")
    op.drop_table("listing_entry")
