"""DNSSEC status and DANE TLSA records (RFC 7672), as a validating sender would see them.

A DANE sender trusts a TLSA record only when its resolver validated it with DNSSEC, and only for
an MX host whose MX and address records were validated too. We cannot validate signatures
ourselves without a trust anchor and a chain of DNSKEY lookups, so this module asks the resolver
(``--resolver``, or the system's) and reads its answer's AD bit — which only says anything when
that resolver validates. The first question is therefore whether it does: the root zone is
signed, so a validating resolver sets AD on the root's SOA; one that does not set it does not
validate, and nothing here can be judged from this vantage point (the rules say so).

A SERVFAIL is asked again with CD (checking disabled): if the resolver then has an answer, the
data exists but failed validation — the zone is "bogus", which validating resolvers (Google,
Cloudflare, Quad9, most ISPs) turn into "no such answer" for everybody.

Also here, pure: what a TLSA record's data would be for a certificate (:func:`association`),
for the rules to match against the chain the server presented.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mxwizard.probes.dns import DnsClient, Lookup, Outcome

#: TLSA records read per MX host (real hosts publish one to four: a current and a next key).
MAX_TLSA = 16
#: MX hosts whose TLSA records are looked up (as many as the receive walk visits).
MAX_HOSTS = 10


class Security(str, Enum):
    """What DNSSEC says about one answer, as the resolver reported it."""

    SECURE = "secure"  # validated: AD set
    INSECURE = "insecure"  # the resolver validates, but this answer is not signed
    BOGUS = "bogus"  # validation failed: SERVFAIL, yet the data is there with CD
    FAILED = "failed"  # no usable answer at all (SERVFAIL with CD too, timeout, refused)
    UNKNOWN = "unknown"  # the resolver does not validate: cannot be judged from here


@dataclass(frozen=True)
class Answer:
    """One question asked with DO and AD, its retry with CD after a SERVFAIL, and the verdict."""

    lookup: Lookup
    security: Security
    retry: Lookup | None = None


@dataclass(frozen=True)
class TlsaRecord:
    """One TLSA record: usage, selector, matching type and the association data (hex)."""

    usage: int
    selector: int
    matching: int
    data: str

    @property
    def text(self) -> str:
        """As in a zone file."""
        return f"{self.usage} {self.selector} {self.matching} {self.data}"


@dataclass(frozen=True)
class DaneHost:
    """What a DANE sender learns about one MX host before it connects."""

    host: str
    #: The host's address lookup (A), for its DNSSEC status.
    address: Answer
    #: The TLSA lookup at ``_25._tcp.HOST``.
    tlsa: Answer
    records: tuple[TlsaRecord, ...] = ()
    #: TLSA data that could not be read (shown as evidence).
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class DaneFacts:
    """The resolver's validation, the domain's MX answer and each MX host's TLSA records."""

    domain: str
    #: The root SOA asked with AD: AD set means the resolver validates.
    root: Lookup
    mx: Answer
    hosts: tuple[DaneHost, ...] = ()

    @property
    def validating(self) -> bool:
        """The resolver validates DNSSEC (so AD bits, present or absent, mean something)."""
        return self.root.authenticated


async def secured(dns: DnsClient, name: str, qtype: str, validating: bool,
                  dnssec: bool = False) -> Answer:
    """Ask ``qtype`` of ``name`` (AD set, as every query; DO too with ``dnssec``); after a
    SERVFAIL, again with CD.

    The MX and address questions are the diagnosis's shared ones (the MX step asks them too,
    and an identical question is asked once): AD alone makes a validating resolver say whether
    it validated the answer (RFC 6840 §5.7). The questions only DANE asks (TLSA, the root's SOA)
    also set DO, as a security-aware client does."""
    lookup = await dns.query(name, qtype, dnssec=dnssec)
    if lookup.outcome in (Outcome.ANSWER, Outcome.NODATA, Outcome.NXDOMAIN):
        if lookup.authenticated:
            return Answer(lookup, Security.SECURE)
        return Answer(lookup, Security.INSECURE if validating else Security.UNKNOWN)
    if lookup.outcome is Outcome.SERVFAIL and validating:
        retry = await dns.query(name, qtype, dnssec=dnssec, checking_disabled=True)
        if retry.outcome in (Outcome.ANSWER, Outcome.NODATA, Outcome.NXDOMAIN):
            return Answer(lookup, Security.BOGUS, retry)
        return Answer(lookup, Security.FAILED, retry)
    return Answer(lookup, Security.FAILED)


def parse_tlsa(text: str) -> TlsaRecord | None:
    """A TLSA record from its presentation text (``3 1 1 ab12...``), or None if unreadable."""
    parts = text.split(None, 3)
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts[:3]):
        return None
    data = "".join(parts[3].split()).lower()
    if not data or any(c not in "0123456789abcdef" for c in data) or len(data) % 2:
        return None
    return TlsaRecord(int(parts[0]), int(parts[1]), int(parts[2]), data)


async def dane_host(dns: DnsClient, host: str, validating: bool) -> DaneHost:
    """The DNSSEC status of ``host``'s address and its TLSA records at ``_25._tcp.HOST``."""
    address, tlsa = await asyncio.gather(secured(dns, host, "A", validating),
                                         secured(dns, f"_25._tcp.{host}", "TLSA", validating,
                                                 dnssec=True))
    records: list[TlsaRecord] = []
    unreadable: list[str] = []
    for record in tlsa.lookup.records("TLSA")[:MAX_TLSA]:
        parsed = parse_tlsa(record.text)
        if parsed is None:
            unreadable.append(record.text[:200])
        else:
            records.append(parsed)
    return DaneHost(host, address, tlsa, tuple(records), tuple(unreadable))


async def dane_facts(dns: DnsClient, domain: str, hosts: list[str]) -> DaneFacts:
    """Whether the resolver validates, the domain's MX answer, and each MX host's TLSA."""
    root = await dns.query(".", "SOA", dnssec=True)
    validating = root.authenticated
    mx, *found = await asyncio.gather(
        secured(dns, domain, "MX", validating),
        *(dane_host(dns, host, validating) for host in list(dict.fromkeys(hosts))[:MAX_HOSTS]))
    return DaneFacts(domain, root, mx, tuple(found))  # type: ignore[arg-type]


def association(der: bytes, selector: int, matching: int) -> str | None:
    """The TLSA association data (hex) a certificate has for ``selector`` and ``matching``:
    selector 0 the whole certificate, 1 its SubjectPublicKeyInfo; matching 0 the bytes
    themselves, 1 SHA-256, 2 SHA-512 (RFC 6698 §2.1). None for values DANE does not define."""
    if selector == 0:
        content = der
    elif selector == 1:
        try:
            key = x509.load_der_x509_certificate(der).public_key()
            content = key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        except (ValueError, TypeError):
            return None
    else:
        return None
    if matching == 0:
        return content.hex()
    if matching == 1:
        return hashlib.sha256(content).hexdigest()
    if matching == 2:
        return hashlib.sha512(content).hexdigest()
    return None
