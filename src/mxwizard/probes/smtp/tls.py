"""TLS as a diagnosis sees it: negotiate with anyone, then report what the certificate says.

A mail client that validates certificates aborts the handshake on a self-signed or expired
certificate, and the diagnosis learns nothing but "certificate verify failed". Most MTAs deliver
over such TLS anyway (opportunistic encryption), so the wizard must see the certificate and say
what is wrong with it. :func:`diagnosing_context` therefore accepts any certificate and old
protocol versions, and :func:`certificate_facts` examines the server's certificate afterwards
with ``cryptography``: names, issuer, validity, self-signed or not, and whether the host name we
connected to matches (checked here by the RFC 6125 rules, not by ``ssl``).

The whole chain the server sent is kept too (:attr:`TlsFacts.chain`, DER, leaf first): whether it
leads to a trusted root is examined afterwards by :mod:`mxwizard.probes.smtp.certificates`, and
DANE matches its TLSA records against it. ``ssl`` hands the unverified chain over publicly only
from Python 3.13 (``get_unverified_chain``); the C method exists since 3.10, and is reached here
in one place, :func:`presented_chain`.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID


def diagnosing_context() -> ssl.SSLContext:
    """A client context that completes the handshake whatever the certificate, to report on it.

    No verification, no host name check, TLS 1.0 and up with every cipher the local OpenSSL
    still has, so old servers can be described rather than merely failed.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deprecated for sending mail, still worth describing
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ssl.SSLError, ValueError):  # a build without the old protocols: keep its defaults
        pass
    return context


@dataclass(frozen=True)
class CertificateFacts:
    """What the server's certificate says. Names come from the network: sanitise before showing."""

    subject: str
    common_name: str | None
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    self_signed: bool
    expired: bool
    not_yet_valid: bool
    #: Whole days until expiry (negative once expired).
    days_left: int
    #: The name checked against the certificate (the MX host name we connected to).
    checked_name: str
    name_matches: bool
    #: True when the match rests on the subject common name because there are no SAN names.
    matched_by_common_name: bool
    key: str
    sha256: str
    #: The key's size in bits (RSA, DSA, EC curve size; 0 when unknown) and the hash of the
    #: certificate's signature ("sha256", "sha1", "" for Ed25519 and unknown), for the weak-key
    #: and weak-signature checks.
    key_bits: int = 0
    signature_hash: str = ""


#: Certificates kept of the chain a server sends: real chains have two to four; OpenSSL already
#: caps the bytes of a chain (100 KB), this caps what is parsed and matched later.
MAX_CHAIN = 10


def presented_chain(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> tuple[bytes, ...]:
    """The certificates the server sent, DER, leaf first (empty when ``ssl`` cannot say).

    Python 3.13 has ``get_unverified_chain()``; 3.10 to 3.12 have the same method on the C
    object behind the SSL object only. Either way it is the chain as sent, with verification off.
    """
    public = getattr(ssl_object, "get_unverified_chain", None)
    try:
        if public is not None:
            found = public() or []
            return tuple(bytes(der) for der in found[:MAX_CHAIN])
        inner = getattr(ssl_object, "_sslobj", None)
        method = getattr(inner, "get_unverified_chain", None)
        if method is None:
            return ()
        chain = method() or []
        return tuple(c.public_bytes(2) for c in chain[:MAX_CHAIN])  # 2: _ssl.ENCODING_DER
    except (ssl.SSLError, ValueError, AttributeError, TypeError):
        return ()


@dataclass(frozen=True)
class TlsFacts:
    """The outcome of a TLS handshake: protocol, cipher and the certificate (if one was sent)."""

    version: str
    cipher: str
    cipher_bits: int | None
    certificate: CertificateFacts | None
    #: Set when a certificate was sent but could not be parsed.
    certificate_error: str | None = None
    #: The chain as the server sent it (DER, leaf first, at most :data:`MAX_CHAIN`).
    chain: tuple[bytes, ...] = ()


def tls_facts(ssl_object: ssl.SSLObject | ssl.SSLSocket, host_name: str,
              now: datetime.datetime | None = None) -> TlsFacts:
    """Describe an established TLS connection; ``host_name`` is what the certificate should name."""
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    certificate: CertificateFacts | None = None
    error: str | None = None
    if der:
        try:
            certificate = certificate_facts(der, host_name, now)
        except Exception as exc:  # hostile bytes from the network: any parser failure is a fact
            error = f"the certificate could not be read: {type(exc).__name__}: {exc}"
    chain = presented_chain(ssl_object)
    if der and not chain:
        chain = (der,)
    return TlsFacts(
        version=ssl_object.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        cipher_bits=cipher[2] if cipher else None,
        certificate=certificate,
        certificate_error=error,
        chain=chain,
    )


def certificate_facts(der: bytes, host_name: str, now: datetime.datetime | None = None) -> CertificateFacts:
    """Parse a DER certificate and judge its dates, issuer and names against ``host_name``."""
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
        ip_addresses = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        pass
    common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(common_names[0].value) if common_names else None
    matches, by_cn = name_matches(host_name, dns_names, ip_addresses, common_name)
    return CertificateFacts(
        subject=cert.subject.rfc4514_string(),
        common_name=common_name,
        dns_names=dns_names,
        ip_addresses=ip_addresses,
        issuer=cert.issuer.rfc4514_string(),
        not_before=not_before,
        not_after=not_after,
        self_signed=_is_self_signed(cert),
        expired=now > not_after,
        not_yet_valid=now < not_before,
        days_left=(not_after - now).days,
        checked_name=host_name,
        name_matches=matches,
        matched_by_common_name=by_cn,
        key=_key_description(cert),
        sha256=hashlib.sha256(der).hexdigest(),
        key_bits=_key_bits(cert),
        signature_hash=_signature_hash(cert),
    )


def name_matches(host_name: str, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...],
                 common_name: str | None) -> tuple[bool, bool]:
    """Does the certificate name ``host_name``? Returns (matches, matched only by common name).

    RFC 6125: an IP address must be in an IP SAN; a host name is compared with the DNS SANs,
    case-insensitively, a ``*`` allowed only as the whole leftmost label and matching exactly one
    label; the subject common name counts only when the certificate has no DNS SANs at all.
    """
    host = host_name.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(_same_address(address, ip) for ip in ip_addresses), False
    if dns_names:
        return any(_dns_name_matches(host, name) for name in dns_names), False
    if common_name is not None and _dns_name_matches(host, common_name):
        return True, True
    return False, False


def _same_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def _dns_name_matches(host: str, pattern: str) -> bool:
    pattern = pattern.rstrip(".").lower()
    if not pattern.startswith("*."):
        return host == pattern
    suffix = pattern[1:]  # ".example.org"
    label = host[: -len(suffix)] if host.endswith(suffix) else ""
    # The wildcard stands for exactly one whole label, and never for a top-level-only suffix.
    return bool(label) and "." not in label and suffix.count(".") >= 2


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: same subject and issuer, and its own key verifies its signature."""
    if cert.subject != cert.issuer:
        return False
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:  # DSA and others: same names is as far as we go
            return True
    except (InvalidSignature, ValueError, TypeError, AssertionError):
        return False
    return True


def _key_description(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size} bits"
    return type(key).__name__


def _key_bits(cert: x509.Certificate) -> int:
    key = cert.public_key()
    if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)):
        return int(key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return int(key.curve.key_size)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 256
    if isinstance(key, ed448.Ed448PublicKey):
        return 456
    return 0


def _signature_hash(cert: x509.Certificate) -> str:
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # an algorithm cryptography does not know (UnsupportedAlgorithm)
        return "unknown"
    return algorithm.name if algorithm is not None else ""


def describe(facts: TlsFacts) -> str:
    """One line for the transcript: "TLSv1.3 established, cipher ..., certificate ..."."""
    text = f"{facts.version} established, cipher {facts.cipher}"
    cert = facts.certificate
    if cert is None:
        return text + (f"; {facts.certificate_error}" if facts.certificate_error else "; no certificate")
    problems = [word for flag, word in (
        (cert.self_signed, "self-signed"), (cert.expired, "expired"),
        (cert.not_yet_valid, "not yet valid"), (not cert.name_matches, f"does not name {cert.checked_name}"),
    ) if flag]
    names = ", ".join(cert.dns_names[:3]) or (cert.common_name or "no name")
    return f"{text}; certificate for {names}" + (f" ({', '.join(problems)})" if problems else "")
