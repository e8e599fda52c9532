"""Mutual TLS identity at the edge: a client certificate forwarded by the TLS proxy.

SITHS function certificates carry the HSA-id in the subject's serialNumber. The proxy in
front of the gateway verifies the chain and forwards the certificate (PEM, URL-encoded)
in a configured header; the gateway maps the HSA-id to a registered client. The header is
trusted only when ``KVGW_MTLS_CLIENT_CERT_HEADER`` is set, so only deploy it behind a
proxy that strips the header from incoming requests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID


class CertificateRejectedError(ValueError):
    pass


def hsa_id_from_header(value: str) -> str:
    try:
        certificate = x509.load_pem_x509_certificate(unquote(value).encode())
    except ValueError:
        raise CertificateRejectedError("the forwarded client certificate cannot be read") from None
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise CertificateRejectedError("the client certificate is not valid now")
    serials = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not serials:
        raise CertificateRejectedError("the client certificate has no serialNumber (HSA-id)")
    return str(serials[0].value)
