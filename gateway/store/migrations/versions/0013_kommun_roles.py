"""A kommun's PractitionerRoles become its own: the roles that requests name as their
requester are granted to the parties of those requests (the kommun and the units they were
addressed to), so they are no longer directory entries readable by every party.

Releases before this one granted no PractitionerRole to any party. A role that no request
names (one a kommun created and never used) stays a directory entry; ``kv-gateway`` grants
it when a request first names it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The parties of every ServiceRequest and Task, for each role the request names as its
# requester (the search index keeps a reference as system=type, value=id).
_CLAIM = sa.text(
    """
    INSERT INTO resource_party (res_type, res_id, party)
    SELECT DISTINCT 'PractitionerRole', named.value, granted.party
    FROM fhir_search_index named
    JOIN resource_party granted
      ON granted.res_type = named.res_type AND granted.res_id = named.res_id
    JOIN fhir_resource role
      ON role.res_type = 'PractitionerRole' AND role.res_id = named.value
    WHERE named.res_type IN ('ServiceRequest', 'Task')
      AND named.param = 'requester'
      AND named.system = 'PractitionerRole'
      AND NOT EXISTS (
        SELECT 1 FROM resource_party held
        WHERE held.res_type = 'PractitionerRole'
          AND held.res_id = named.value
          AND held.party = granted.party
      )
    """
)


def upgrade() -> None:
    op.get_bind().execute(_CLAIM)


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM resource_party WHERE res_type = 'PractitionerRole'"))
