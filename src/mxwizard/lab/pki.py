"""The lab's certificate authority, and the certificates it issues to the lab's servers.

Real MX hosts mostly present certificates from a public authority; to show what a *trusted*
certificate looks like — and what an expired one, or one for the wrong name, looks like even when
it comes from a trusted authority — the lab has an authority of its own. In lab mode, and only
there, the wizard trusts it (``World.point`` sets ``Settings.ca_file`` to its certificate), the
way a company's senders trust a private CA.

Everything is made in memory with ``cryptography`` the first time the lab starts in a process
(EC P-256 keys: quick to make) and kept for the life of the process, so the DANE records the lab
publishes (computed from these certificates when its zones are built) always match what its
servers present. Nothing is written to disk except for the instant ``ssl`` needs a file.

Which host gets which certificate is :data:`ISSUED`; hosts not named there present the
self-signed certificate of :mod:`mxwizard.lab.certificates`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "mxwizard lab CA"
#: How long the lab's certificates are valid: what Let's Encrypt issues (the expiry warning
#: starts 14 days before the end, and only the deliberately expired certificate is near it).
VALIDITY = datetime.timedelta(days=90)


class Kind(str, Enum):
    """What a lab certificate is like."""

    TRUSTED = "trusted"  # issued by the lab CA for the host's name, valid now
    EXPIRED = "expired"  # issued by the lab CA for the host's name, expired yesterday
    WRONG_NAME = "wrong-name"  # issued by the lab CA, valid, for another name


@dataclass(frozen=True)
class Issue:
    """One certificate the lab CA issues: its kind and the names it carries."""

    kind: Kind
    names: tuple[str, ...]


#: The names of the lab's policy web server (lab/https.py): one certificate carries them all.
MTA_STS_NAMES = tuple(f"mta-sts.{d}" for d in (
    "stsgood.test", "selfsts.test", "ststesting.test", "stsmiss.test", "ststimeout.test",
    "sts404.test", "stsbig.test", "stsredirect.test", "dane.test"))

#: Server name -> the certificate it presents (the healthy domain, and the transport corner of
#: the lab, lab/transport.py).
ISSUED: dict[str, Issue] = {
    # the healthy domain is healthy all through: its MX hosts' certificates are trusted too
    "mx1.healthy.test": Issue(Kind.TRUSTED, ("mx1.healthy.test",)),
    "mx2.healthy.test": Issue(Kind.TRUSTED, ("mx2.healthy.test",)),
    "mx.trusted.test": Issue(Kind.TRUSTED, ("mx.trusted.test",)),
    "mx.expired.test": Issue(Kind.EXPIRED, ("mx.expired.test",)),
    "mx.wrongname.test": Issue(Kind.WRONG_NAME, ("mail.elsewhere.test",)),
    "mx.ststesting.test": Issue(Kind.TRUSTED, ("mx.ststesting.test",)),
    "mx1.stsmiss.test": Issue(Kind.TRUSTED, ("mx1.stsmiss.test",)),
    "mx2.stsmiss.test": Issue(Kind.TRUSTED, ("mx2.stsmiss.test",)),
    "mx.dane.test": Issue(Kind.TRUSTED, ("mx.dane.test",)),
    "mx.danebad.test": Issue(Kind.TRUSTED, ("mx.danebad.test",)),
    "mta-sts": Issue(Kind.TRUSTED, MTA_STS_NAMES),
}


@dataclass(frozen=True)
class Issued:
    """A certificate of the lab CA with its key: what a server loads and what DANE hashes."""

    name: str
    der: bytes
    #: The server's certificate followed by the CA's (servers send the chain).
    chain_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LabPki:
    """The lab CA: its certificate, and the certificates it issued (made on first use)."""

    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self._key = ec.generate_private_key(ec.SECP256R1())
        public = self._key.public_key()
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(_name(CA_NAME)).issuer_name(_name(CA_NAME))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(self.now - datetime.timedelta(days=60))
            .not_valid_after(self.now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_pem = self.ca.public_bytes(serialization.Encoding.PEM)
        self.ca_der = self.ca.public_bytes(serialization.Encoding.DER)
        #: A key no lab server has any more: what a TLSA record left behind after a key
        #: change points at (the lab's mismatching DANE record).
        self.retired_key = ec.generate_private_key(ec.SECP256R1())
        self._issued: dict[str, Issued] = {}

    def issue(self, server: str) -> Issued:
        """The certificate :data:`ISSUED` names for ``server`` (made once)."""
        found = self._issued.get(server)
        if found is None:
            found = self._issued[server] = self._make(server, ISSUED[server])
        return found

    def _make(self, server: str, plan: Issue) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        if plan.kind is Kind.EXPIRED:
            start, end = self.now - datetime.timedelta(days=30), self.now - datetime.timedelta(days=1)
        else:
            start, end = self.now - datetime.timedelta(minutes=5), self.now + VALIDITY
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(plan.names[0])).issuer_name(self.ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in plan.names]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                           critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return Issued(server, cert.public_bytes(serialization.Encoding.DER),
                      cert.public_bytes(serialization.Encoding.PEM) + self.ca_pem, _pem_key(key))

    def retired_spki_sha256(self) -> str:
        """The SHA-256 of the retired key's SubjectPublicKeyInfo (a TLSA 3 1 1 that matches
        nothing any lab server presents)."""
        spki = self.retired_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(spki).hexdigest()


@functools.lru_cache(maxsize=1)
def lab_pki() -> LabPki:
    """The lab CA of this process (made the first time a lab starts)."""
    return LabPki()


def server_context(server: str) -> ssl.SSLContext:
    """A server TLS context presenting the lab CA's certificate for ``server`` and its chain."""
    issued = lab_pki().issue(server)
    return context_from_pem(issued.key_pem + issued.chain_pem)


def write_ca_file(directory: str) -> str:
    """Write the lab CA's certificate into ``directory``; returns its path (for --ca-file)."""
    path = os.path.join(directory, "mxwizard-lab-ca.pem")
    with open(path, "wb") as handle:
        handle.write(lab_pki().ca_pem)
    return path


def context_from_pem(key_and_chain: bytes) -> ssl.SSLContext:
    """A server TLS context from a PEM key and certificate chain. ``ssl`` loads a chain only
    from a file, so the PEM data is written to a private temporary directory just long enough
    to be loaded (the one place the lab does this, for its self-signed and CA-issued hosts)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="mxwizard-lab-tls-") as directory:
        chain_path = os.path.join(directory, "chain.pem")
        descriptor = os.open(chain_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as chain_file:
            chain_file.write(key_and_chain)
        context.load_cert_chain(chain_path)
    return context
