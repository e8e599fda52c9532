"""SMART Backend Services towards a journal system: the gateway as a ``private_key_jwt`` client.

The gateway signs a short client assertion (RS384 or ES384, iss = sub = client id, aud =
the peer's token endpoint, a fresh jti, at most five minutes) with the private key the
profile's ``key_file`` holds, exchanges it for an access token (client_credentials), and
keeps the token until shortly before it expires. A token endpoint that refuses the client
(``invalid_client`` and the like) is final: an operator has to register the key or fix the
client id. A token endpoint that is down is passing.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey, thumbprint

from adapters.journal.fhir_rest.config import SmartClient
from adapters.journal.fhir_rest.transport import PeerError, classify
from gateway.capped_http import ResponseTooLargeError, json_object, send_capped

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 240
DEFAULT_TOKEN_SECONDS = 300
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
# OAuth errors that mean the peer does not accept us as we are: waiting will not help.
REFUSALS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope", "access_denied"}
)


def load_signing_key(config: SmartClient) -> tuple[ECKey | RSAKey, str]:
    """The private key and its kid. A JWK file or a PEM file; the type must fit ``alg``."""
    try:
        raw = config.key_file.read_bytes()
    except OSError as error:
        raise PeerError(
            f"cannot read the SMART private key file ({type(error).__name__}); check smart.key_file",
            final=True,
        ) from None
    key_type: type[ECKey] | type[RSAKey] = ECKey if config.alg == "ES384" else RSAKey
    try:
        if raw.lstrip().startswith(b"{"):
            data: dict[str, Any] = json.loads(raw)
            key = key_type.import_key(data)
            kid = config.kid or data.get("kid")
        else:
            key = key_type.import_key(raw)
            kid = config.kid
    except (ValueError, JoseError, TypeError):
        raise PeerError(
            f"the SMART private key file does not hold a private {key_type.key_type} key for "
            f"{config.alg}; check smart.key_file and smart.alg",
            final=True,
        ) from None
    if not key.is_private:
        raise PeerError("the SMART key file holds a public key, not a private one", final=True)
    if config.alg == "ES384" and key.as_dict().get("crv") != "P-384":
        raise PeerError("ES384 needs a P-384 key; check smart.key_file", final=True)
    return key, str(kid or thumbprint(key.as_dict(private=False)))


class SmartTokenSource:
    """Access tokens for one profile, cached until ``refresh_margin_seconds`` before expiry."""

    def __init__(
        self,
        config: SmartClient,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
        *,
        client_certificate: bool = False,
    ) -> None:
        self.config = config
        self.client_certificate = client_certificate
        self.http = http
        self.clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._good_until = 0.0
        self._key: tuple[ECKey | RSAKey, str] | None = None
        self.requests = 0  # how many tokens were asked for (for operators and tests)

    def token(self) -> str:
        with self._lock:
            if self._token is not None and self.clock() < self._good_until:
                return self._token
            token, lifetime = self._fetch()
            margin = min(self.config.refresh_margin_seconds, lifetime / 2)
            self._token, self._good_until = token, self.clock() + lifetime - margin
            return token

    def forget(self) -> None:
        """Drop the cached token (the peer said it is no longer good)."""
        with self._lock:
            self._token, self._good_until = None, 0.0

    def assertion(self) -> str:
        if self._key is None:
            self._key = load_signing_key(self.config)
        key, kid = self._key
        now = int(self.clock())
        claims = {
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": self.config.token_url,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        header = {"alg": self.config.alg, "kid": kid, "typ": "JWT"}
        return jwt.encode(header, claims, key, algorithms=[self.config.alg])

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
            "scope": self.config.scope,
        }
        self.requests += 1
        try:
            response = send_capped(
                self.http,
                "POST",
                self.config.token_url,
                max_bytes=MAX_TOKEN_RESPONSE_BYTES,
                data=form,
                headers={"accept": "application/json"},
            )
        except ResponseTooLargeError as error:
            raise PeerError(f"token endpoint: the {error}") from None
        except httpx.HTTPError as error:
            failure = classify(error, client_certificate=self.client_certificate)
            raise PeerError(f"token endpoint: {failure.detail}", failure.final) from None
        body = json_object(response)
        if response.status_code in (400, 401, 403):
            code = str(body.get("error", "")) if body else ""
            if code in REFUSALS or response.status_code != 400:
                raise PeerError(
                    f"the peer's authorisation server refused our client "
                    f"({response.status_code} {code or 'no error code'}); check the client id "
                    "and that our public key is registered there",
                    final=True,
                )
        if response.status_code >= 300 or body is None:
            raise PeerError(f"token endpoint answered {response.status_code} without a token")
        token = body.get("access_token")
        if (
            not isinstance(token, str)
            or not token
            or str(body.get("token_type", "")).lower() != "bearer"
        ):
            raise PeerError("token endpoint answered without a bearer access_token")
        lifetime = body.get("expires_in", DEFAULT_TOKEN_SECONDS)
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_SECONDS
        return token, float(lifetime)
