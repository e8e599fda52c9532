"""A leaner search index: no foreign key, and partial value and date indexes.

Every index row is derived from a resource version, and only the resource store writes,
replaces and purges it, in the same transaction as the resource's head. The foreign key
checked that once more for every row, at a higher cost than the insert itself, and a
submission writes some sixty rows.

A row holds either a value or a date range. The two indexes now hold only their own
rows, so neither carries the other's NULLs, and the planner can no longer scan the date
index for a value search (it did, on a fresh database, until statistics were gathered).
On a large existing table, build the new indexes with CREATE INDEX CONCURRENTLY first.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_FOREIGN_KEY = "fk_fhir_search_index_res_type_fhir_resource"
_VALUE = ("ix_fhir_search_index_value", ["res_type", "param", "value"], "value IS NOT NULL")
_DATE = (
    "ix_fhir_search_index_date",
    ["res_type", "param", "date_start", "date_end"],
    "date_start IS NOT NULL",
)


def upgrade() -> None:
    with op.batch_alter_table("fhir_search_index") as table:
        table.drop_constraint(_FOREIGN_KEY, type_="foreignkey")
    for name, columns, where in (_VALUE, _DATE):
        op.drop_index(name, table_name="fhir_search_index")
        op.create_index(
            name,
            "fhir_search_index",
            columns,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, columns, _where in (_VALUE, _DATE):
        op.drop_index(name, table_name="fhir_search_index")
        op.create_index(name, "fhir_search_index", columns)
    with op.batch_alter_table("fhir_search_index") as table:
        table.create_foreign_key(
            _FOREIGN_KEY,
            "fhir_resource",
            ["res_type", "res_id"],
            ["res_type", "res_id"],
            ondelete="CASCADE",
        )
