"""Which resource types the gateway serves, and which interactions each allows."""

from __future__ import annotations

from enum import StrEnum


class Interaction(StrEnum):
    READ = "read"
    VREAD = "vread"
    UPDATE = "update"
    DELETE = "delete"
    HISTORY_INSTANCE = "history-instance"
    HISTORY_TYPE = "history-type"
    CREATE = "create"
    SEARCH_TYPE = "search-type"


ALL_INTERACTIONS = frozenset(Interaction)
READ_ONLY = frozenset(
    {
        Interaction.READ,
        Interaction.VREAD,
        Interaction.HISTORY_INSTANCE,
        Interaction.HISTORY_TYPE,
        Interaction.SEARCH_TYPE,
    }
)

# Resource type -> interactions allowed through the REST API.
# AuditEvent is written by the gateway itself, never by a client.
RESOURCE_INTERACTIONS: dict[str, frozenset[Interaction]] = {
    "ServiceRequest": ALL_INTERACTIONS,
    "Consent": ALL_INTERACTIONS,
    "Task": ALL_INTERACTIONS,
    "QuestionnaireResponse": ALL_INTERACTIONS,
    "Questionnaire": ALL_INTERACTIONS,
    "Patient": ALL_INTERACTIONS,
    "Organization": ALL_INTERACTIONS,
    "PractitionerRole": ALL_INTERACTIONS,
    "Practitioner": ALL_INTERACTIONS,
    "Endpoint": ALL_INTERACTIONS,
    "Communication": ALL_INTERACTIONS,
    "Subscription": ALL_INTERACTIONS,
    "AuditEvent": READ_ONLY,
}

SUPPORTED_TYPES = frozenset(RESOURCE_INTERACTIONS)

# What ``$validate`` checks (gateway.api.validate): the types served, and a Bundle (each
# entry), at the type level and for an instance.
VALIDATABLE_TYPES = SUPPORTED_TYPES | {"Bundle"}


def allows(resource_type: str, interaction: Interaction) -> bool:
    return interaction in RESOURCE_INTERACTIONS.get(resource_type, frozenset())
