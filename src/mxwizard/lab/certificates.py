"""Self-signed certificates for the lab's SMTP hosts.

A real mail exchanger offers STARTTLS, very often with a certificate nobody vouches for. The lab
does the same so the wizard (and a trainer with `swaks --tls`) can see TLS negotiated with a
certificate that a strict client would refuse. Certificates are made once per host name with the
`cryptography` package (EC P-256 keys: quick to generate, understood by every TLS library here),
valid for 90 days, and kept in memory for the life of the process; nothing is written to disk
except for the instant `ssl` needs to read them from a file.
"""

from __future__ import annotations

import datetime
import functools
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=90)
"""How long a lab certificate is valid: what Let's Encrypt issues, so that only the lab's
deliberately expired certificate (lab/pki.py) ever looks close to its end."""


@dataclass(frozen=True)
class SelfSignedCertificate:
    """A PEM certificate for one host name together with its unencrypted PEM private key."""

    name: str
    cert_pem: bytes
    key_pem: bytes


@functools.lru_cache(maxsize=256)
def self_signed_certificate(name: str) -> SelfSignedCertificate:
    """Return the (cached) self-signed certificate for host `name`, creating it on first use.

    The subject common name and the only subjectAltName are `name`; the certificate is its own
    issuer, so any client that validates the chain refuses it, as it would on the real internet.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SelfSignedCertificate(
        name=name,
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def server_tls_context(name: str) -> ssl.SSLContext:
    """Build a server-side TLS context presenting the self-signed certificate of `name`.

    The context asks nothing of the client (no client certificates), which is what an MX does.
    `ssl` can only load a certificate chain from a file, so the PEM data is written to a private
    temporary directory just long enough to be loaded. Hosts to which the lab's own CA issued a
    certificate (lab/pki.py: trusted, expired, for another name) present that one instead.
    """
    from mxwizard.lab.pki import ISSUED, server_context  # the lab CA's hosts

    if name in ISSUED:
        return server_context(name)
    from mxwizard.lab.pki import context_from_pem

    material = self_signed_certificate(name)
    return context_from_pem(material.key_pem + material.cert_pem)
