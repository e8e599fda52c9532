"""The rivta adapter's settings: environment variables ``KVGW_RIVTA_JOURNAL_*``.

The client certificate, its key, the CA bundle and the gateway's HSA-id default to the
ones the carelisting lookup uses towards the same platform (``KVGW_RIVTA_CLIENT_CERT``,
``KVGW_RIVTA_CLIENT_KEY``, ``KVGW_RIVTA_CA_BUNDLE``, ``KVGW_RIVTA_ACTOR_ID``); set the
``KVGW_RIVTA_JOURNAL_`` variant to use another.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "KVGW_RIVTA_JOURNAL_"


def _either(name: str, shared: str) -> AliasChoices:
    return AliasChoices(name, f"{PREFIX}{name.upper()}", f"KVGW_RIVTA_{shared.upper()}")


class RivtaJournalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    service_url: str | None = Field(
        default=None,
        description="NTjP address of ProcessMedicalStatementRequest v1 (RIVTA BP 2.1). Used "
        "for Endpoints whose address is a logical address rather than an https URL.",
    )
    sender_hsa_id: str = Field(
        default="SE0000000000-KVGW",
        validation_alias=_either("sender_hsa_id", "actor_id"),
        description="The gateway's system HSA-id, sent as x-rivta-original-serviceconsumer-hsaid.",
    )
    client_cert: str | None = Field(
        default=None,
        validation_alias=_either("client_cert", "client_cert"),
        description="PEM client certificate (SITHS function certificate) for mutual TLS.",
    )
    client_key: str | None = Field(
        default=None,
        validation_alias=_either("client_key", "client_key"),
        description="PEM private key of the client certificate.",
    )
    ca_bundle: str | None = Field(
        default=None,
        validation_alias=_either("ca_bundle", "ca_bundle"),
        description="PEM CA bundle the producer's (or platform's) server certificate must "
        "chain to. Unset: the system's trust store.",
    )
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    max_response_bytes: int = Field(default=256 * 1024, ge=1024)
