"""The fhir-rest adapter's configuration section (environment prefix ``KVGW_FHIR_REST_``).

A *profile* says how one journal system is reached: the payload form, how the gateway
authenticates, and whether it polls the peer for changes or waits for the peer to call
back. An Endpoint names its profile with the ``kv-endpoint-adapter-profile`` extension;
an Endpoint that names none uses ``default_profile`` or, failing that, a plain profile
(transaction Bundle, no authentication, answers by callback). Secrets never live in the
directory: a profile points at key and certificate *files* (relative names are read from the
working directory, like every other path the gateway is given).

Profiles come from ``KVGW_FHIR_REST_PROFILES`` (JSON) and/or ``KVGW_FHIR_REST_PROFILES_FILE``
(a JSON file with the same shape); the environment wins on a name clash::

    {"region-jonkoping": {"form": "task", "receive": "poll",
                          "smart": {"token_url": "https://fhir.rjl.se/auth/token",
                                    "client_id": "kv-gateway", "alg": "ES384",
                                    "key_file": "/run/secrets/rjl-client.jwk.json"},
                          "ca_file": "/etc/kv-gateway/rjl-ca.pem"}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.delivery.protocols import adapter_profile_of

DEFAULT_SCOPE = (
    "system/Task.cru system/QuestionnaireResponse.rs system/Communication.c "
    "system/Bundle.c system/Task.s"
)


class ProfileError(ValueError):
    """The Endpoint names a profile that is not configured, or the configuration is broken."""


class SmartClient(BaseModel):
    """SMART Backend Services (``private_key_jwt``) towards the peer's authorisation server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_url: str
    client_id: str
    key_file: Path = Field(description="Private key: a JWK (JSON) or a PEM file.")
    alg: Literal["RS384", "ES384"] = "ES384"
    kid: str | None = Field(default=None, description="Default: the JWK's kid, or its thumbprint.")
    scope: str = DEFAULT_SCOPE
    refresh_margin_seconds: float = Field(
        default=30.0, ge=0, description="Get a new token this long before the old one expires."
    )


class MutualTls(BaseModel):
    """A client certificate the gateway presents to the peer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path
    key_file: Path


class PeerProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    form: Literal["bundle", "task"] = Field(
        default="bundle",
        description="'bundle': a transaction Bundle POSTed to the base (PUT of each resource, "
        "our ids kept). 'task': a Task POSTed to [base]/Task with the resources it needs contained.",
    )
    receive: Literal["callback", "poll"] = Field(
        default="callback",
        description="'callback': the unit's system updates the Task and posts the answer to the "
        "gateway's FHIR API. 'poll': the gateway searches Task?_lastUpdated=gt… at the peer.",
    )
    smart: SmartClient | None = None
    tls: MutualTls | None = None
    ca_file: Path | None = Field(
        default=None, description="CA bundle the peer's server certificate must chain to."
    )
    timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    poll_page_size: int = Field(default=50, ge=1, le=1000)
    poll_max_pages: int = Field(default=20, ge=1, le=1000)
    max_response_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)


PLAIN = PeerProfile()


class FhirRestSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KVGW_FHIR_REST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    profiles: dict[str, PeerProfile] = Field(default_factory=dict)
    profiles_file: Path | None = None
    default_profile: str | None = None

    def all_profiles(self) -> dict[str, PeerProfile]:
        found: dict[str, PeerProfile] = {}
        if self.profiles_file is not None:
            found.update(_read_profiles_file(self.profiles_file))
        found.update(self.profiles)
        return found

    def profile_for(self, endpoint: dict[str, Any]) -> tuple[str, PeerProfile]:
        """The profile's name and the profile an Endpoint is reached with."""
        name = adapter_profile_of(endpoint) or self.default_profile
        if name is None:
            return "plain", PLAIN
        profiles = self.all_profiles()
        if name not in profiles:
            raise ProfileError(
                f"the Endpoint names fhir-rest profile {name!r}, which is not configured "
                "(KVGW_FHIR_REST_PROFILES or KVGW_FHIR_REST_PROFILES_FILE)"
            )
        return name, profiles[name]


def _read_profiles_file(path: Path) -> dict[str, PeerProfile]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ProfileError(
            f"cannot read the fhir-rest profiles file: {type(error).__name__}"
        ) from None
    if not isinstance(raw, dict):
        raise ProfileError("the fhir-rest profiles file must hold a JSON object of profiles")
    try:
        return {str(name): PeerProfile.model_validate(p) for name, p in raw.items()}
    except ValidationError as error:
        raise ProfileError(
            f"the fhir-rest profiles file is invalid: {error.error_count()} problem(s), first "
            f"at {'.'.join(str(x) for x in error.errors()[0]['loc'])}"
        ) from None
