"""Certificates made in the test with ``cryptography`` (SITHS-like: a system's HSA-id in
the subject's serialNumber), and a uvicorn server with TLS that can demand a client
certificate. Shared by the tests of every adapter that speaks mutual TLS."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.types import ASGIApp

from tests.support.live_server import free_port, running


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path

    @property
    def pem(self) -> str:
        return self.cert.read_text()


class Authority:
    """A certificate authority writing its certificates into ``folder``."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = folder / f"{name}-ca.pem"
        self.bundle.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def _issue(
        self,
        stem: str,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        san: x509.SubjectAlternativeName | None = None,
        days: int = 1,
    ) -> KeyPair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        pair = KeyPair(self.folder / f"{stem}.crt", self.folder / f"{stem}.key")
        pair.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return pair

    def server(self, stem: str) -> KeyPair:
        """A server certificate for 127.0.0.1 and localhost."""
        return self._issue(
            stem,
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
            ExtendedKeyUsageOID.SERVER_AUTH,
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
        )

    def client(self, stem: str, hsa_id: str | None = None) -> KeyPair:
        """A client certificate; with ``hsa_id``, a function certificate for a system with
        its HSA-id in the subject's serialNumber."""
        attributes = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"system {hsa_id}" if hsa_id else stem),
        ]
        if hsa_id:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, hsa_id))
        return self._issue(stem, x509.Name(attributes), ExtendedKeyUsageOID.CLIENT_AUTH)


@contextmanager
def serve_tls(
    app: ASGIApp,
    server: KeyPair,
    client_ca: Path | None,
    port: int | None = None,
    *,
    tls12: bool = False,
) -> Iterator[str]:
    """Run ``app`` under uvicorn with TLS on loopback; with ``client_ca`` every client must
    present a certificate issued by it. Yields ``https://127.0.0.1:PORT``.

    ``tls12``: at most TLS 1.2, where a refused client certificate fails the handshake
    itself. (Under TLS 1.3 the server checks it after the client's handshake is done, and
    uvicorn then closes the connection without sending the TLS alert that tells the client
    why, so the client sees only a dropped connection.)"""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        access_log=False,
        ssl_certfile=str(server.cert),
        ssl_keyfile=str(server.key),
        ssl_ca_certs=str(client_ca) if client_ca else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
    )
    config.load()
    if tls12:
        assert config.ssl is not None
        config.ssl.maximum_version = ssl.TLSVersion.TLSv1_2
    with running(config):
        yield f"https://127.0.0.1:{port}"
