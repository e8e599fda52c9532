"""A kommun's Practitioners become its own: the name a socialsekreterare's role points to is
no longer a directory entry readable by every party (gateway.security.tenancy).

Releases before this one granted every Practitioner to the party that registered it (and to
the operator, had it changed one), and let every party read all of them. Now:

- each party granted a Practitioner is recorded as its registrar (``registrar:<party>``),
  the one that may change it: a grant alone no longer says so, since the units a kommun's
  requests reach may read its Practitioner, not change it;
- a Practitioner granted to no kommun or test harness is a directory entry, granted to
  every party (``*``);
- a kommun's (or the test harness's) stays granted to it, and is granted to the parties of
  the ServiceRequests and Tasks that name it as requester, or name a role that names it
  (the kommun and the units the requests were addressed to).

Which kind a party is: the kind of its registered clients (``auth_client.party_kind``), the
kind the gateway's tenant rules acted on when the Practitioner was written; any client of
the party registered as a kommun or the test harness makes it one, erring towards privacy.
A party with no registered client (its Practitioners were written by other means) is a
kommun when its Organization in the directory says so: typed ``kommun-socialtjanst``, or
carrying a kommunkod, as the reference data's kommuner are. The directory is read through
the search index, since bodies may be encrypted at rest.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Values as they are today, written out: '*' is gateway.store.visibility.EVERY_PARTY,
# 'registrar:' gateway.security.tenancy.registrar, 'kommun' and 'test-harness' PartyKind
# values, and the systems those of the kommunkod and of kv-organization-type.

_MARK_REGISTRARS = sa.text(
    """
    INSERT INTO resource_party (res_type, res_id, party)
    SELECT res_type, res_id, 'registrar:' || party
    FROM resource_party
    WHERE res_type = 'Practitioner' AND party LIKE 'Organization/%'
    """
)

# Every Practitioner granted to no kommun or test harness (by its clients' kind or, for a
# party with none, by its Organization in the directory) is granted to every party.
_PUBLISH = sa.text(
    """
    INSERT INTO resource_party (res_type, res_id, party)
    SELECT person.res_type, person.res_id, '*'
    FROM fhir_resource person
    WHERE person.res_type = 'Practitioner'
      AND NOT EXISTS (
        SELECT 1 FROM resource_party granted
        WHERE granted.res_type = person.res_type
          AND granted.res_id = person.res_id
          AND (
            EXISTS (
              SELECT 1 FROM auth_client client
              WHERE client.party = granted.party
                AND client.party_kind IN ('kommun', 'test-harness')
            )
            OR (
              NOT EXISTS (SELECT 1 FROM auth_client client WHERE client.party = granted.party)
              AND granted.party LIKE 'Organization/%'
              AND EXISTS (
                SELECT 1 FROM fhir_search_index org
                WHERE org.res_type = 'Organization'
                  AND org.res_id = substr(granted.party, 14)
                  AND (
                    (org.param = 'identifier' AND org.system = 'urn:oid:1.2.752.129.2.2.1.17')
                    OR (
                      org.param = 'type'
                      AND org.system = 'https://kv-gateway.se/fhir/CodeSystem/kv-organization-type'
                      AND org.value = 'kommun-socialtjanst'
                    )
                  )
              )
            )
          )
      )
    """
)

# The parties of every ServiceRequest and Task, for each Practitioner it names as its
# requester or that its requester role names (the index keeps a reference as
# system=type, value=id).
_SHARE_WITH_REQUESTS = sa.text(
    """
    INSERT INTO resource_party (res_type, res_id, party)
    SELECT DISTINCT 'Practitioner', person.res_id, granted.party
    FROM fhir_resource person
    JOIN (
      SELECT role_names.value AS person_id, asking.res_type AS res_type,
             asking.res_id AS res_id
      FROM fhir_search_index role_names
      JOIN fhir_search_index asking
        ON asking.param = 'requester'
       AND asking.system = 'PractitionerRole'
       AND asking.value = role_names.res_id
       AND asking.res_type IN ('ServiceRequest', 'Task')
      WHERE role_names.res_type = 'PractitionerRole'
        AND role_names.param = 'practitioner'
        AND role_names.system = 'Practitioner'
      UNION
      SELECT asking.value, asking.res_type, asking.res_id
      FROM fhir_search_index asking
      WHERE asking.res_type IN ('ServiceRequest', 'Task')
        AND asking.param = 'requester'
        AND asking.system = 'Practitioner'
    ) naming ON naming.person_id = person.res_id
    JOIN resource_party granted
      ON granted.res_type = naming.res_type AND granted.res_id = naming.res_id
    WHERE person.res_type = 'Practitioner'
      AND granted.party LIKE 'Organization/%'
      AND NOT EXISTS (
        SELECT 1 FROM resource_party held
        WHERE held.res_type = 'Practitioner'
          AND held.res_id = person.res_id
          AND held.party IN (granted.party, '*')
      )
    """
)

# Back to one grant per registrar: the readers, EVERY_PARTY and the marks go.
_KEEP_REGISTRARS_ONLY = sa.text(
    """
    DELETE FROM resource_party
    WHERE res_type = 'Practitioner'
      AND party NOT LIKE 'registrar:%'
      AND NOT EXISTS (
        SELECT 1 FROM resource_party mark
        WHERE mark.res_type = 'Practitioner'
          AND mark.res_id = resource_party.res_id
          AND mark.party = 'registrar:' || resource_party.party
      )
    """
)
_DROP_MARKS = sa.text(
    "DELETE FROM resource_party WHERE res_type = 'Practitioner' AND party LIKE 'registrar:%'"
)


def upgrade() -> None:
    bind = op.get_bind()
    for step in (_MARK_REGISTRARS, _PUBLISH, _SHARE_WITH_REQUESTS):
        bind.execute(step)


def downgrade() -> None:
    bind = op.get_bind()
    for step in (_KEEP_REGISTRARS_ONLY, _DROP_MARKS):
        bind.execute(step)
