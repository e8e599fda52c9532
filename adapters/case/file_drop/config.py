"""The adapter's own configuration file (TOML): which gateway, which client, which folders.

```toml
[gateway]
base_url = "https://kv-gateway.example.se"   # FHIR at <base_url>/fhir
client_id = "kommun-2180-case-drop"
key_file = "keys/case-drop.jwk.json"         # relative paths: from this file's folder
# token_url = "<base_url>/auth/token", alg = "ES384", kid, scope: optional

[folders]
root = "/var/lib/kv-case-drop"               # inbox/ processing/ done/ refused/ outbox/

[mapping]
file = "mappings/example-json.toml"

[poll]
interval_seconds = 30
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.case.file_drop.mapping import Mapping, MappingError, load_mapping, read_toml
from adapters.journal.fhir_rest.config import SmartClient

DEFAULT_SCOPE = (
    "system/Patient.c system/PractitionerRole.c system/Consent.c system/ServiceRequest.cr "
    "system/Task.rs system/QuestionnaireResponse.r"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(_Strict):
    base_url: str = Field(pattern=r"^https?://")
    client_id: str = Field(min_length=1)
    key_file: Path
    token_url: str | None = None
    alg: Literal["RS384", "ES384"] = "ES384"
    kid: str | None = None
    scope: str = DEFAULT_SCOPE
    timeout_seconds: float = Field(default=20.0, gt=0)


class FoldersSection(_Strict):
    root: Path


class MappingSection(_Strict):
    file: Path


class PollSection(_Strict):
    interval_seconds: float = Field(default=30.0, gt=0)


class ConfigFile(_Strict):
    gateway: GatewaySection
    folders: FoldersSection
    mapping: MappingSection
    poll: PollSection = PollSection()


class AdapterConfig(_Strict):
    """The checked configuration, paths resolved, the mapping loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    fhir_base: str
    smart: SmartClient
    timeout_seconds: float
    root: Path
    mapping: Mapping
    interval_seconds: float


class ConfigError(Exception):
    """A configuration that cannot be used; one line naming the key."""


def build_config(data: dict[str, object], base: Path, source: str = "config") -> AdapterConfig:
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: key {where}: {first['msg']}") from None
    gateway = parsed.gateway
    base_url = gateway.base_url.rstrip("/")
    try:
        mapping = load_mapping(base / parsed.mapping.file)
    except MappingError as error:
        raise ConfigError(str(error)) from None
    smart = SmartClient(
        token_url=gateway.token_url or f"{base_url}/auth/token",
        client_id=gateway.client_id,
        key_file=base / gateway.key_file,
        alg=gateway.alg,
        kid=gateway.kid,
        scope=gateway.scope,
    )
    return AdapterConfig(
        fhir_base=f"{base_url}/fhir",
        smart=smart,
        timeout_seconds=gateway.timeout_seconds,
        root=base / parsed.folders.root,
        mapping=mapping,
        interval_seconds=parsed.poll.interval_seconds,
    )


def load_config(path: Path) -> AdapterConfig:
    data = read_toml(path, "the configuration", ConfigError)
    return build_config(data, path.parent, str(path))
