"""Does the certificate chain an MX host sent lead to an authority that senders trust?

The SMTP probe completes every handshake with verification off (a diagnosis must see a bad
certificate as a fact, not lose the session to an exception) and keeps the chain the server sent.
This module then verifies that chain offline, the way a sender that checks certificates does:
against the system's trust store — the file and the hashed directory OpenSSL reads, which
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` override — plus the user's ``--ca-file`` (the lab points it
at its own CA). It uses the RFC 5280 path builder of ``cryptography`` (``x509.verification``):
``ssl`` cannot verify a chain without a handshake, and a second, verifying handshake would cost a
second SMTP session with every MX host.

The verdict is about the chain alone. Names and dates are other problems with other fixes
(judged from :class:`~mxwizard.probes.smtp.tls.CertificateFacts`), so the chain is checked for a
name the certificate itself carries and at a moment inside its own validity. Everything read here
is bounded: the size of the files (:data:`~mxwizard.core.inputs.MAX_CA_FILE_BYTES`), the number of
authorities (:data:`MAX_AUTHORITIES`) and of files in the directory (:data:`MAX_DIRECTORY_FILES`).
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification

from mxwizard.core.inputs import MAX_CA_FILE_BYTES, InputError, read_regular_file
from mxwizard.probes.smtp.facts import ConnectOutcome, SessionFacts
from mxwizard.probes.smtp.tls import TlsFacts

#: Most trusted authorities kept (public bundles hold about 150).
MAX_AUTHORITIES = 5000
#: Most files read from the hashed directory (one per authority, plus a few others).
MAX_DIRECTORY_FILES = 2000
#: Longest chain the path builder may build (RFC 5280 has no limit; real chains are 2 to 4).
MAX_DEPTH = 8
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)
#: Names OpenSSL looks up in a hashed directory (``c_rehash`` output): subject hash and a counter.
_HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")


@dataclass(frozen=True)
class TrustStore:
    """The authorities a verifying sender on this machine would trust."""

    authorities: tuple[x509.Certificate, ...]
    #: Where they came from, for the evidence ("system file /etc/ssl/... (146 authorities)").
    sources: tuple[str, ...]
    #: What could not be used (a --ca-file without certificates, an unreadable file).
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for evidence: the sources, or that there is none."""
        return "trust store: " + ("; ".join(self.sources) or "none could be read")


@dataclass(frozen=True)
class ChainCheck:
    """The verdict on one presented chain."""

    trusted: bool
    #: Why it is not trusted, in plain words ("" when it is).
    reason: str = ""
    #: The path that was built, subjects from the server's certificate up to the trusted root.
    path: tuple[str, ...] = ()
    #: The subjects of the certificates as the server sent them.
    presented: tuple[str, ...] = ()
    #: The trust store the chain was held against (:meth:`TrustStore.describe`).
    store: str = ""


def _read(path: str) -> bytes:
    """A regular file of at most ``MAX_CA_FILE_BYTES`` (b"" if it is not one, or is too big:
    the reader that refuses pipes and devices is the one every file the user names goes through)."""
    try:
        return read_regular_file(path, MAX_CA_FILE_BYTES, "CA file")
    except InputError:
        return b""


def _pem_certificates(data: bytes) -> tuple[list[x509.Certificate], int]:
    """The certificates of a PEM bundle, and how many blocks could not be parsed."""
    found: list[x509.Certificate] = []
    bad = 0
    with warnings.catch_warnings():  # old roots with odd serial numbers: still roots
        warnings.simplefilter("ignore")
        for block in _PEM_BLOCK.findall(data)[:MAX_AUTHORITIES]:
            try:
                found.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                bad += 1
    return found, bad


def _stamp(path: str | None) -> tuple[str, float]:
    if not path:
        return ("", 0.0)
    try:
        return (path, os.stat(path).st_mtime)
    except OSError:
        return (path, 0.0)


def load_trust_store(ca_file: str | None = None) -> TrustStore:
    """The system's trust store (honouring SSL_CERT_FILE and SSL_CERT_DIR) plus ``ca_file``.

    Read once per process for the same files (unless they change): parsing a public bundle
    takes tens of milliseconds, and a diagnosis may verify a dozen chains."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.cafile or (os.environ.get(paths.openssl_cafile_env) or paths.openssl_cafile)
    capath = paths.capath or (os.environ.get(paths.openssl_capath_env) or paths.openssl_capath)
    return _load(_stamp(cafile), _stamp(capath), _stamp(ca_file))


@functools.lru_cache(maxsize=8)
def _load(cafile: tuple[str, float], capath: tuple[str, float],
          extra: tuple[str, float]) -> TrustStore:
    seen: dict[bytes, x509.Certificate] = {}
    sources: list[str] = []
    problems: list[str] = []

    def add(certificates: list[x509.Certificate]) -> int:
        before = len(seen)
        for cert in certificates:
            if len(seen) >= MAX_AUTHORITIES:
                break
            seen.setdefault(cert.fingerprint(hashes.SHA256()), cert)
        return len(seen) - before

    if cafile[0] and os.path.isfile(cafile[0]):
        found, _bad = _pem_certificates(_read(cafile[0]))
        sources.append(f"system file {cafile[0]} ({len(found)} authorities)")
        add(found)
    if capath[0] and os.path.isdir(capath[0]):
        try:
            names = sorted(n for n in os.listdir(capath[0]) if _HASHED_NAME.match(n))
        except OSError:
            names = []
        added = 0
        for name in names[:MAX_DIRECTORY_FILES]:
            found, _bad = _pem_certificates(_read(os.path.join(capath[0], name)))
            added += add(found)
        if added:
            sources.append(f"system directory {capath[0]} ({added} more authorities)")
    if extra[0]:
        found, bad = _pem_certificates(_read(extra[0]))
        if found:
            sources.append(f"--ca-file {extra[0]} ({len(found)} authorities)")
            add(found)
        else:
            problems.append(f"--ca-file {extra[0]}: no readable PEM certificate in it"
                            + (f" ({bad} block(s) could not be parsed)" if bad else ""))
    return TrustStore(tuple(seen.values()), tuple(sources), tuple(problems))


def _subject_for(leaf: x509.Certificate, host: str) -> verification.Subject | None:
    """A name the certificate carries, to verify the chain with (the host when it is named):
    the name check is a finding of its own, so it must not decide the chain's verdict."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    names = [n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)]
    host = host.lower().rstrip(".")
    if host in names:
        return x509.DNSName(host)
    for name in names:
        concrete = "mxwizard-check" + name[1:] if name.startswith("*.") else name
        try:
            return x509.DNSName(concrete)
        except ValueError:
            continue
    addresses = san.get_values_for_type(x509.IPAddress)
    return x509.IPAddress(addresses[0]) if addresses else None


def _inside_validity(leaf: x509.Certificate, now: datetime.datetime) -> datetime.datetime:
    """``now`` moved inside the certificate's validity (dates are judged on their own)."""
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if now < start:
        return start
    if now > end:
        return end
    return now


def _why(exc: Exception, leaf: x509.Certificate, presented: list[x509.Certificate],
         store: TrustStore) -> str:
    """The path builder's refusal in the words of the postmaster's problem."""
    text = str(exc)
    trusted = {c.subject for c in store.authorities}
    if leaf.issuer == leaf.subject:
        return ("it is self-signed: no certificate authority vouches for it, so a sender that "
                "verifies cannot trust it")
    last = presented[-1] if presented else leaf
    if last.issuer == last.subject and last.subject not in trusted:
        return (f"it leads to '{last.subject.rfc4514_string()}', an authority the server sends "
                "along but that is not among the trusted ones: a private one that senders do "
                "not know")
    if last.issuer not in trusted and last.issuer not in {c.subject for c in presented}:
        return (f"it was issued by '{last.issuer.rfc4514_string()}', which is neither in the "
                "chain the server sent nor a trusted authority: either the server leaves out "
                "an intermediate certificate, or the authority is a private one that senders "
                "do not know")
    if "not valid at validation time" in text:
        return "a certificate of the chain above the server's own is outside its validity dates"
    return f"it does not verify ({text.replace('validation failed: ', '')[:300]})"


def verify_chain(chain: tuple[bytes, ...], host: str, store: TrustStore,
                 now: datetime.datetime | None = None) -> ChainCheck:
    """Verify a presented chain (DER, leaf first) against ``store``; never raises."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    parsed: list[x509.Certificate] = []
    with warnings.catch_warnings():  # a malformed certificate is the server's fact, not ours
        warnings.simplefilter("ignore")
        for der in chain:
            try:
                parsed.append(x509.load_der_x509_certificate(der))
            except ValueError:
                continue
    presented = tuple(c.subject.rfc4514_string() for c in parsed)
    where = store.describe()
    if not parsed:
        return ChainCheck(False, "the server sent no certificate that could be read",
                          presented=presented, store=where)
    if not store.authorities:
        return ChainCheck(False, "no trust store could be read on this machine, so no chain can "
                          "be verified here", presented=presented, store=where)
    leaf, intermediates = parsed[0], parsed[1:]
    subject = _subject_for(leaf, host)
    if subject is None:
        return ChainCheck(False, "the certificate has no subjectAltName names, which clients "
                          "that verify certificates require (RFC 6125)", presented=presented,
                          store=where)
    try:
        verifier = (verification.PolicyBuilder()
                    .store(verification.Store(list(store.authorities)))
                    .time(_inside_validity(leaf, now))
                    .max_chain_depth(MAX_DEPTH)
                    .build_server_verifier(subject))
        path = verifier.verify(leaf, intermediates)
    except verification.VerificationError as exc:
        return ChainCheck(False, _why(exc, leaf, parsed, store), presented=presented, store=where)
    except Exception as exc:  # an algorithm or extension the verifier cannot handle
        return ChainCheck(False, f"it could not be verified ({type(exc).__name__}: "
                          f"{str(exc)[:200]})", presented=presented, store=where)
    return ChainCheck(True, path=tuple(c.subject.rfc4514_string() for c in path),
                      presented=presented, store=where)


@dataclass(frozen=True)
class HostTls:
    """What one MX host showed of TLS in its SMTP session, with its chain verified."""

    host: str
    ip: str
    preference: int
    #: The host greeted us and answered EHLO (so whether it offers STARTTLS is known).
    talked: bool
    offered: bool
    tls: TlsFacts | None = None
    #: Why STARTTLS failed, when it did.
    error: str | None = None
    chain: ChainCheck | None = None


@dataclass(frozen=True)
class TransportFacts:
    """The TLS of every visited MX host of ``domain``, and the domain's MX host names (all of
    them, visited or not: an MTA-STS policy must list each)."""

    domain: str
    hosts: tuple[HostTls, ...]
    mx_hosts: tuple[str, ...]
    #: Where the trust store came from, and what could not be used (a bad --ca-file).
    store: str = ""
    store_problems: tuple[str, ...] = ()
    #: When the certificates were judged (their dates are compared with it).
    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))


def survey(domain: str, sessions: Sequence[tuple[int, str, SessionFacts]],
           mx_hosts: Sequence[str], ca_file: str | None) -> TransportFacts:
    """Verify the chain of every session that negotiated TLS (blocking: file reads and
    signature checks; run it in a thread). ``sessions``: (preference, host, session) in
    preference order."""
    store = load_trust_store(ca_file)
    now = datetime.datetime.now(datetime.timezone.utc)
    hosts: list[HostTls] = []
    for preference, host, session in sessions:
        talked = session.outcome is ConnectOutcome.GREETED and session.ehlo is not None \
            and (session.banner is None or session.banner.code < 400)
        tls = session.tls
        chain = verify_chain(tls.chain, host, store, now) if tls is not None and tls.chain else None
        hosts.append(HostTls(host, session.ip, preference, talked, session.starttls_offered,
                             tls, session.tls_error, chain))
    return TransportFacts(domain, tuple(hosts), tuple(mx_hosts), store.describe(),
                          store.problems, now)
