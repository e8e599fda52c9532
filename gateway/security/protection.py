"""Protection of personal data at rest: AES-GCM bodies with key ids, keyed blind indexes.

A stored body is ``enc:v1:<kid>:<base64(nonce || ciphertext+tag)>``. Any configured key
decrypts; only the active key encrypts, so keys rotate by adding a new active key and
re-encrypting in the background (``kv-gateway keys rotate``). Searchable identifiers are
kept as HMAC-SHA256 blind indexes under their own key, never in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.settings import Settings

PREFIX = "enc:v1:"
NONCE_BYTES = 12


class KeyConfigurationError(ValueError):
    pass


class DecryptionError(ValueError):
    pass


def parse_keys(spec: str) -> dict[str, bytes]:
    """``kid:base64,kid2:base64`` -> {kid: 32-byte key}."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        kid, sep, encoded = part.partition(":")
        if not sep or not kid or ":" in kid:
            raise KeyConfigurationError("encryption keys are 'kid:base64key' separated by commas")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise KeyConfigurationError(f"encryption key {kid!r} is not valid base64") from None
        if len(key) != 32:
            raise KeyConfigurationError(f"encryption key {kid!r} must be 32 bytes (AES-256)")
        keys[kid] = key
    if not keys:
        raise KeyConfigurationError("no encryption keys configured")
    return keys


def new_key() -> str:
    """A fresh base64 AES-256 key, for operators adding a key."""
    return base64.b64encode(os.urandom(32)).decode()


@dataclass(frozen=True)
class DataProtection:
    keys: dict[str, bytes]
    active_kid: str
    blind_key: bytes
    previous_blind_key: bytes | None = None  # set while the blind-index key rotates

    @classmethod
    def from_settings(cls, settings: Settings) -> DataProtection:
        keys = parse_keys(settings.encryption_keys.get_secret_value())
        if settings.encryption_active_key not in keys:
            raise KeyConfigurationError(
                f"the active encryption key {settings.encryption_active_key!r} is not configured"
            )
        previous = settings.blind_index_previous_key
        return cls(
            keys,
            settings.encryption_active_key,
            settings.blind_index_key.get_secret_value().encode(),
            previous.get_secret_value().encode() if previous else None,
        )

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_kid]).encrypt(
            nonce, plaintext.encode("utf-8"), self.active_kid.encode()
        )
        return f"{PREFIX}{self.active_kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise DecryptionError("stored body is not encrypted")
        kid, _, encoded = stored[len(PREFIX) :].partition(":")
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionError(f"no key with id {kid!r} is configured")
        raw = base64.b64decode(encoded)
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise DecryptionError("stored body failed authentication") from None
        return plain.decode("utf-8")

    @staticmethod
    def key_id_of(stored: str) -> str | None:
        if not stored.startswith(PREFIX):
            return None
        return stored[len(PREFIX) :].partition(":")[0]

    def blind(self, value: str) -> str:
        """Keyed, deterministic, irreversible stand-in for a searchable identifier."""
        return _blind(self.blind_key, value)

    def blind_candidates(self, value: str) -> list[str]:
        """What an identifier may be indexed as: under the key, and while the key rotates
        (until ``db reindex`` is done) under the previous one too."""
        found = [self.blind(value)]
        if self.previous_blind_key is not None:
            found.append(_blind(self.previous_blind_key, value))
        return found


def _blind(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"bi:{digest}"
