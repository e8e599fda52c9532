"""Effective configuration, read from the environment (prefix ``KVGW_``) and an optional ``.env``."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class AuthMode(StrEnum):
    """How callers are identified. ``none`` refuses every FHIR call until a real mode is set."""

    NONE = "none"
    DEMO = "demo"


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
        default=AuthMode.NONE,
        description="'demo' gives every caller a fixed demo identity; only `make run` sets it.",
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=64, ge=8, le=512)
    max_bundle_entries: int = Field(default=500, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=200, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)

    @property
    def fhir_base_url(self) -> str:
        return self.public_base_url.rstrip("/") + "/fhir"

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets masked, for ``config show``."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                shown[name] = _mask_url(value.get_secret_value()) if "url" in name else "********"
            elif isinstance(value, StrEnum):
                shown[name] = value.value
            else:
                shown[name] = value
        return shown


def _mask_url(url: str) -> str:
    """Hide the password in a database URL, keep the rest readable."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}"


@cache
def get_settings() -> Settings:
    return Settings()
