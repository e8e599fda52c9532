"""Effective configuration, read from the environment (prefix ``KVGW_``) and an optional ``.env``."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import (
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.resources.urls import (
    MASK,
    UrlRefusedError,
    http_url,
    is_plain_http_off_host,
    mask_url_password,
    mask_url_passwords,
)


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class AuthMode(StrEnum):
    """How callers are identified.

    ``smart``: SMART Backend Services access tokens (and optional mutual TLS identity).
    ``none``: every FHIR call is refused. ``demo``: a fixed all-powerful identity for a
    throwaway local demo only; refused in production.
    """

    SMART = "smart"
    NONE = "none"
    DEMO = "demo"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


# Development defaults: public, so never secret. A production environment refuses them.
DEV_TOKEN_SECRET = "kv-gateway-development-token-secret-not-for-production"
DEV_ENCRYPTION_KEYS = "dev1:ZGV2ZWxvcG1lbnQta2V5LWRvLW5vdC11c2UtcHJvZCE="
DEV_BLIND_INDEX_KEY = "kv-gateway-development-blind-index-key"
DEV_AUDIT_CHAIN_KEY = "kv-gateway-development-audit-chain-key"
DEV_LISTING_HASH_KEY = "kv-gateway-development-listing-hash-key"  # routing: public, dev only


class Settings(BaseSettings):
    """Every setting the gateway reads. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(
        env_prefix="KVGW_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///var/kv-gateway.db"),
        description="SQLAlchemy URL. SQLite file by default, postgresql+psycopg://... in production.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL clients use to reach the gateway; FHIR base is this plus /fhir.",
    )
    canonical_base: str = Field(
        default="https://kv-gateway.se/fhir",
        description="Canonical base of the conformance resources (profiles, Questionnaire).",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    log_format: LogFormat = LogFormat.JSON
    log_level: str = "INFO"
    auth_mode: AuthMode = Field(
        default=AuthMode.SMART,
        description="'smart' (SMART Backend Services), 'none' (refuse all) or 'demo' (local only).",
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=64, ge=8, le=512)
    max_bundle_entries: int = Field(default=500, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=200, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)

    # --- workflow ---
    answer_days: int = Field(default=21, ge=1, description="Default time to answer a request.")
    delivery_worker_in_process: bool = Field(
        default=True, description="Drain the outbox in a thread of the API process."
    )
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_lanes: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Tasks a delivery worker delivers for at the same time; a Task's own "
        "messages go one after another. A slow peer holds up only its own Tasks' messages.",
    )
    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Networks besides the public internet that Subscription rest-hooks may "
        'reach, as JSON: ["10.20.0.0/16"] for kommun systems on a private network or Sjunet. '
        "Loopback, private and link-local addresses are refused otherwise (development "
        "allows http to loopback).",
    )
    journal_poll_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often journal systems that are polled (fhir-rest profiles with "
        "receive=poll) are asked for changes; 0 = never (in-process poller and worker).",
    )

    # --- security ---
    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="'production' refuses to start with development keys.",
    )
    token_secret: SecretStr = Field(
        default=SecretStr(DEV_TOKEN_SECRET),
        description="HMAC key that signs the gateway's own access tokens (32+ bytes).",
    )
    access_token_seconds: int = Field(default=300, ge=30, le=300)
    assertion_max_seconds: int = Field(default=300, ge=30, le=300)
    jwks_cache_seconds: int = Field(default=300, ge=0)
    encryption_keys: SecretStr = Field(
        default=SecretStr(DEV_ENCRYPTION_KEYS),
        description="Body encryption keys as 'kid:base64key,kid2:base64key' (AES-256-GCM).",
    )
    encryption_active_key: str = Field(default="dev1", description="Key id used to encrypt.")
    blind_index_key: SecretStr = Field(
        default=SecretStr(DEV_BLIND_INDEX_KEY),
        description="HMAC key for searchable identifiers (blind indexes).",
    )
    blind_index_previous_key: SecretStr | None = Field(
        default=None,
        description="During a rotation of the blind-index key, the key before: searches "
        "match identifiers indexed under either until `db reindex` has moved them all.",
    )
    audit_chain_key: SecretStr = Field(
        default=SecretStr(DEV_AUDIT_CHAIN_KEY),
        description="HMAC key of the audit hash chain.",
    )
    mtls_client_cert_header: str | None = Field(
        default=None,
        description="Header in which a trusted TLS proxy forwards the client certificate (PEM, "
        "URL-encoded). Unset: mutual TLS identity is off.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Reverse proxies (the ingress) whose X-Forwarded-For and X-Forwarded-Proto "
        "headers `serve` believes, comma-separated addresses or networks such as "
        "10.0.0.0/8 ('*' = any caller; only behind a proxy that overwrites them). Empty: "
        "no proxy headers are read, and the client address is the connection's own.",
    )
    rate_limit_per_minute: int = Field(default=600, ge=0, description="Per client; 0 = off.")
    max_active_requests: int = Field(
        default=24,
        ge=0,
        description="Requests at work at once per process; more wait in line (0 = no limit). "
        "Keep it below the database pool (30 per process).",
    )
    max_queued_requests: int = Field(
        default=256, ge=0, description="Requests waiting per process; more get 503 at once."
    )
    queue_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a request waits for a slot before 503."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token /metrics asks for. Unset: /metrics is open, so restrict it "
        "at the ingress (it holds no personal data, but tells how the service runs).",
    )
    retention_days: int = Field(default=365, ge=1, description="Closed cases older are purged.")
    audit_retention_days: int = Field(default=3650, ge=1)

    # --- routing ---
    listing_hash_key: SecretStr = Field(
        default=SecretStr(DEV_LISTING_HASH_KEY),
        description="HMAC-SHA256 key of the listing register's person keys. DEVELOPMENT "
        "DEFAULT: public, logged as a warning, refused in production. Changing it makes "
        "every imported row unreachable: re-import after a change.",
    )
    listing_sources: dict[str, list[str]] = Field(
        default_factory=lambda: {"*": ["local"]},
        description="Listing sources per folkbokföring region (länskod, '*' = every other "
        'region), tried together: JSON like {"*": ["local"], "21": ["rivta", "local"]}. '
        "Sources: local, rivta, fhir.",
    )
    listing_types: list[str] = Field(
        default_factory=lambda: ["PV"],
        description="Listing type codes that count as primary-care listing (carelisting PV).",
    )
    listing_cache_seconds: float = Field(
        default=60.0, ge=0, description="How long a listing answer is reused; 0 = never."
    )
    listing_timeout_seconds: float = Field(
        default=5.0, gt=0, le=120, description="Timeout of each call to a listing source."
    )
    listing_max_response_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Larger answers from a listing source fail."
    )
    routing_service_contract: str = Field(
        default="urn:kv-gateway:medicinskt-utlatande:1",
        description="Service contract the routing table is consulted for by default.",
    )
    routing_consumer_id: str = Field(
        default="kv-gateway",
        description="The gateway's own consumer id (HSA-id) in the authorisation table.",
    )
    rivta_get_listing_county_url: str | None = Field(
        default=None, description="NTjP address of GetListingCounty v2 (RIVTA BP 2.1)."
    )
    rivta_get_listing_url: str | None = Field(
        default=None, description="NTjP address of GetListing v2 (RIVTA BP 2.1)."
    )
    rivta_actor_id: str = Field(
        default="SE0000000000-KVGW",
        description="HSA-id sent as carelisting actor.actorId (the gateway's system HSA-id).",
    )
    rivta_actor_type: str = Field(
        default="healthcare_professional", description="carelisting actor.actorType."
    )
    rivta_client_cert: str | None = Field(
        default=None, description="PEM client certificate for mutual TLS towards NTjP."
    )
    rivta_client_key: str | None = Field(
        default=None, description="PEM private key of the client certificate."
    )
    rivta_ca_bundle: str | None = Field(
        default=None, description="PEM CA bundle that NTjP's server certificate must chain to."
    )
    rivta_platform_hsa_ids: list[str] = Field(
        default_factory=list,
        description="HSA-ids (certificate serialNumber) of the service platform's (NTjP) "
        "client certificates. Only from these callers is the consumer read from the "
        "x-rivta-original-serviceconsumer-hsaid header; any other caller is its certificate. "
        "The gateway's own logical address for inbound RIVTA calls is rivta_actor_id.",
    )
    listing_fhir_servers: dict[str, str] = Field(
        default_factory=dict,
        description='FHIR base URL per region that exposes listing over FHIR: {"06": "https://…/fhir"}. '
        "Production needs https (plain http only to this host: localhost, 127.0.0.1, ::1).",
    )
    listing_fhir_search: str = Field(
        default="Patient?identifier={system}|{value}",
        description="Search that finds the person, as [type]?[parameters]; {system} and "
        "{value} are filled in. It is sent as POST [base]/[type]/_search with the parameters "
        "form-encoded in the body, so the person number never stands in a URL. The listing "
        "is read from Patient.generalPractitioner.",
    )
    listing_fhir_token: SecretStr | None = Field(
        default=None, description="Bearer token for the regions' FHIR servers, if they need one."
    )

    @field_validator("listing_fhir_servers")
    @classmethod
    def _listing_servers_are_usable(
        cls, servers: dict[str, str], info: ValidationInfo
    ) -> dict[str, str]:
        """Each an http(s) URL; in production https, or http to this host only: the
        lookup carries a person number."""
        production = info.data.get("environment") is Environment.PRODUCTION
        for lanskod, url in sorted(servers.items()):
            try:
                parts = http_url(url)
            except UrlRefusedError as refused:
                raise ValueError(f"the listing server of region {lanskod} {refused}") from None
            if production and is_plain_http_off_host(parts):
                raise ValueError(
                    f"the listing server of region {lanskod} must use https in production "
                    "(plain http only to this host: localhost, 127.0.0.1, ::1)"
                )
        return servers

    @model_validator(mode="after")
    def _listing_key_is_safe(self) -> Settings:
        if (
            self.environment is Environment.PRODUCTION
            and self.listing_hash_key.get_secret_value() == DEV_LISTING_HASH_KEY
        ):
            raise ValueError("the development listing_hash_key is refused in production")
        return self

    def listing_hash_key_is_default(self) -> bool:
        return self.listing_hash_key.get_secret_value() == DEV_LISTING_HASH_KEY

    # --- end routing ---

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.auth_mode is AuthMode.DEMO:
                raise ValueError("auth_mode=demo is refused in production")
            weak = self.development_secrets_in_use()
            if weak:
                raise ValueError(f"development keys are refused in production: {', '.join(weak)}")
        return self

    def development_secrets_in_use(self) -> list[str]:
        defaults = {
            "token_secret": DEV_TOKEN_SECRET,
            "encryption_keys": DEV_ENCRYPTION_KEYS,
            "blind_index_key": DEV_BLIND_INDEX_KEY,
            "audit_chain_key": DEV_AUDIT_CHAIN_KEY,
        }
        return [
            name
            for name, default in defaults.items()
            if getattr(self, name).get_secret_value() == default
        ]

    @property
    def fhir_base_url(self) -> str:
        return self.public_base_url.rstrip("/") + "/fhir"

    def masked(self) -> dict[str, Any]:
        """The effective configuration for ``config show``: secrets masked whole, except
        that a secret URL keeps all but its password readable; a password in any other
        URL-valued setting (nested in a list or mapping too) is masked as well."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                url = "url" in name and "://" in secret
                shown[name] = mask_url_password(secret) if url else MASK
            elif isinstance(value, StrEnum):
                shown[name] = value.value
            else:
                shown[name] = mask_url_passwords(value)
        return shown


@cache
def get_settings() -> Settings:
    return Settings()
