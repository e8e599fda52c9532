"""Versioned FHIR resource store and its search index.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fhir_resource",
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("res_type", "res_id", name="pk_fhir_resource"),
    )
    op.create_index("ix_fhir_resource_type_updated", "fhir_resource", ["res_type", "last_updated"])
    op.create_table(
        "fhir_resource_version",
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "res_type", "res_id", "version_id", name="pk_fhir_resource_version"
        ),
        sa.ForeignKeyConstraint(
            ["res_type", "res_id"],
            ["fhir_resource.res_type", "fhir_resource.res_id"],
            name="fk_fhir_resource_version_res_type_fhir_resource",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_fhir_resource_version_type_updated",
        "fhir_resource_version",
        ["res_type", "last_updated"],
    )
    op.create_table(
        "fhir_search_index",
        sa.Column("row_id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("system", sa.String(255), nullable=True),
        sa.Column("value", sa.String(512), nullable=True),
        sa.Column("date_start", sa.DateTime(), nullable=True),
        sa.Column("date_end", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["res_type", "res_id"],
            ["fhir_resource.res_type", "fhir_resource.res_id"],
            name="fk_fhir_search_index_res_type_fhir_resource",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_fhir_search_index_value", "fhir_search_index", ["res_type", "param", "value"]
    )
    op.create_index(
        "ix_fhir_search_index_date",
        "fhir_search_index",
        ["res_type", "param", "date_start", "date_end"],
    )
    op.create_index("ix_fhir_search_index_resource", "fhir_search_index", ["res_type", "res_id"])


def downgrade() -> None:
    op.drop_table("fhir_search_index")
    op.drop_table("fhir_resource_version")
    op.drop_table("fhir_resource")
