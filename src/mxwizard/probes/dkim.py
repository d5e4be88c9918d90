"""DKIM: is the signing key published, and does a message's signature verify? (dkimpy)

``dkim.verify()`` only says True or False, which tells a novice nothing. So the steps are taken
apart (see NOTES.md): the signature header is parsed first, the key is fetched with the
diagnosis's own async DNS client and judged here (missing, revoked with an empty ``p=``,
malformed, too small), and only then does dkimpy verify, with a DNS function that hands it the
key already fetched. Its exceptions tell a changed body (body hash mismatch) from a changed
header or wrong key (the signature over the headers does not verify).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.parser
import email.utils
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from enum import Enum

import dkim
from dkim.crypto import HASH_ALGORITHMS

from mxwizard.probes.dns import DnsClient, Lookup, Outcome

#: RFC 8301: verifiers must not accept RSA keys shorter than this; signers should use 2048.
MIN_RSA_BITS = 1024
RECOMMENDED_RSA_BITS = 2048
#: dkimpy verifies RSA in pure Python, in one ``pow(s, e, n)`` whose cost grows with the bits of
#: the exponent and faster than the square of the modulus's bits (a 16,384-bit modulus with an
#: 18,000-bit exponent: 9 seconds for one signature, during which nothing else runs). So keys
#: are refused before any arithmetic when they are absurd:
#: - longer moduli than this (RFC 8301 asks verifiers for 1024 to 4096 bits; this is twice that);
MAX_RSA_BITS = 8192
#: - public exponents longer than this (real keys use 65537, 17 bits; OpenSSL refuses more than
#:   64 bits for moduli over 3072 bits, Go's crypto/rsa more than 31 bits);
MAX_RSA_EXPONENT_BITS = 64
#: - more key data than this (an 8192-bit key with a 64-bit exponent takes about 1,060 bytes):
#:   refused before it is even parsed.
MAX_KEY_BYTES = 2048
#: Signatures checked per message; the others are counted and said to be unchecked (a receiver
#: stops early too: OpenDKIM checks 3 by default, its MaximumSignaturesToVerify).
MAX_SIGNATURES = 5
#: The header section of a message checked: beyond it, the file is not a message we check
#: (Postfix keeps 100 KB of header by default, its header_size_limit).
MAX_HEADER_BYTES = 256 * 1024
#: The longest DKIM-Signature header parsed (real ones stay under 2 KB; dkimpy's regexes
#: backtrack quadratically on long runs of white space, 0.3 s at this length).
MAX_SIGNATURE_HEADER = 8192
#: The From header read for the DMARC domain (the email package parses it character by character).
MAX_FROM_CHARS = 4096
#: The signature checks of a message get this many DNS timeouts in all: the key lookups and the
#: arithmetic, inside the DKIM step's budget of 3.5 (which also covers --dkim-selector's key).
VERIFY_TIMEOUTS = 2.0
_QUIET = logging.getLogger("mxwizard.dkim")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class KeyState(str, Enum):
    """What the key record under a selector amounts to."""

    OK = "ok"
    MISSING = "missing"  # no TXT record at SELECTOR._domainkey.DOMAIN
    REVOKED = "revoked"  # p= is empty: the key was withdrawn on purpose
    MALFORMED = "malformed"  # not a DKIM key record, bad base64, unknown key type
    TOO_SMALL = "too-small"  # RSA shorter than 1024 bits: receivers ignore the signature
    TOO_LARGE = "too-large"  # absurdly long key or exponent: refused before any arithmetic
    LOOKUP_FAILED = "lookup-failed"  # the DNS question got no usable answer


def parse_tags(text: str) -> dict[str, str]:
    """A DKIM tag=value list (RFC 6376 §3.2) as a dict; pure, never raises. Later duplicates lose."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        name = name.strip()
        if eq and name and name not in tags:
            tags[name] = re.sub(r"\s+", "", value)
    return tags


@dataclass(frozen=True)
class DkimKey:
    """The key published under one selector, and what is wrong with it, if anything."""

    selector: str
    domain: str
    lookup: Lookup
    state: KeyState
    record: str = ""
    key_type: str = ""
    bits: int = 0
    problem: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Where the key lives: ``SELECTOR._domainkey.DOMAIN``."""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def testing(self) -> bool:
        """``t=y``: the domain says it is only testing DKIM (receivers may ignore failures)."""
        return "y" in self.tags.get("t", "").split(":")


def judge_key_record(texts: list[str]) -> tuple[KeyState, str, str, int, str, dict[str, str]]:
    """(state, record, key type, bits, problem, tags) for the TXT strings at a key's name."""
    candidates = [t for t in texts if "p=" in t.replace(" ", "")]
    if not candidates:
        shown = texts[0] if texts else ""
        return (KeyState.MALFORMED if texts else KeyState.MISSING, shown, "", 0,
                "the record has no p= tag (no key)" if texts else "", {})
    record = candidates[0]
    tags = parse_tags(record)
    if tags.get("v", "DKIM1") != "DKIM1":
        return KeyState.MALFORMED, record, "", 0, f"v={tags['v']} (must be DKIM1)", tags
    key_type = tags.get("k", "rsa").lower()
    p = tags.get("p", "")
    if not p:
        return KeyState.REVOKED, record, key_type, 0, "p= is empty: the key is revoked", tags
    try:
        raw = base64.b64decode(p, validate=True)
    except (binascii.Error, ValueError):
        return KeyState.MALFORMED, record, key_type, 0, "p= is not valid base64", tags
    if key_type == "ed25519":
        if len(raw) != 32:
            return KeyState.MALFORMED, record, key_type, 0, "an ed25519 key must be 32 bytes", tags
        return KeyState.OK, record, key_type, 256, "", tags
    if key_type != "rsa":
        return KeyState.MALFORMED, record, key_type, 0, f"unknown key type k={key_type}", tags
    if len(raw) > MAX_KEY_BYTES:
        return (KeyState.TOO_LARGE, record, key_type, 0,
                f"the key is {len(raw):,} bytes long, where an RSA key of {MAX_RSA_BITS} bits takes "
                "about 1,060: it was refused unread", tags)
    try:
        pk, bits, _ktag, _tlsrpt = dkim.evaluate_pk("key", record.encode("ascii", "replace"))
        exponent = int(pk["publicExponent"])
    except (dkim.KeyFormatError, binascii.Error, ValueError, TypeError, KeyError) as exc:
        return KeyState.MALFORMED, record, key_type, 0, f"the RSA key does not parse ({exc})", tags
    if int(bits) > MAX_RSA_BITS:
        return (KeyState.TOO_LARGE, record, key_type, int(bits),
                f"a {bits}-bit RSA key: verifiers must handle 1024 to 4096 bits (RFC 8301), and "
                f"keys over {MAX_RSA_BITS} bits are not checked here, because their arithmetic "
                "stalls a verifier", tags)
    if exponent.bit_length() > MAX_RSA_EXPONENT_BITS:
        return (KeyState.TOO_LARGE, record, key_type, int(bits),
                f"its RSA public exponent is {exponent.bit_length():,} bits long: real keys use "
                f"65537 (17 bits), OpenSSL refuses more than {MAX_RSA_EXPONENT_BITS} bits for "
                "keys over 3072 bits, and a long exponent makes every verification slow", tags)
    if exponent < 3 or exponent % 2 == 0:
        return (KeyState.MALFORMED, record, key_type, int(bits),
                f"its RSA public exponent is {exponent}, where RFC 8017 requires an odd number "
                "of at least 3 (with 1, anyone can forge a signature)", tags)
    if int(bits) < MIN_RSA_BITS:
        return (KeyState.TOO_SMALL, record, key_type, int(bits),
                f"{bits}-bit RSA key (receivers ignore keys under {MIN_RSA_BITS} bits)", tags)
    return KeyState.OK, record, key_type, int(bits), "", tags


async def dkim_key(dns: DnsClient, selector: str, domain: str) -> DkimKey:
    """Fetch and judge the key record at ``SELECTOR._domainkey.DOMAIN``."""
    name = f"{selector}._domainkey.{domain}"
    try:
        lookup = await dns.query(name, "TXT")
    except ValueError:  # the signature's d= and s= make no DNS name (a label over 63, ...)
        lookup = Lookup(name, "TXT", dns.server_text, Outcome.ERROR,
                        note="the name cannot be asked in DNS")
        return DkimKey(selector, domain, lookup, KeyState.MALFORMED,
                       problem="s= and d= do not make a valid DNS name, so there is no key to find")
    if lookup.outcome.is_failure:
        return DkimKey(selector, domain, lookup, KeyState.LOOKUP_FAILED,
                       problem=f"the lookup failed ({lookup.outcome.value})")
    if lookup.outcome is not Outcome.ANSWER:
        return DkimKey(selector, domain, lookup, KeyState.MISSING)
    state, record, key_type, bits, problem, tags = judge_key_record(lookup.texts())
    return DkimKey(selector, domain, lookup, state, record, key_type, bits, problem, tags)


class Verdict(str, Enum):
    """Why a signature did or did not verify."""

    VALID = "valid"
    BODY_CHANGED = "body-changed"  # the body hash does not match: the body was altered
    HEADER_CHANGED = "header-changed"  # signed headers altered, or signed with another key
    KEY_PROBLEM = "key-problem"  # the key is missing, revoked, malformed, too small, too large
    BAD_SIGNATURE = "bad-signature"  # the DKIM-Signature header itself is malformed
    UNSUPPORTED = "unsupported"  # e.g. ed25519 without PyNaCl
    NOT_CHECKED = "not-checked"  # the time allowed ran out before this signature was checked


@dataclass(frozen=True)
class SignatureCheck:
    """One DKIM-Signature header of a message, checked."""

    index: int
    domain: str
    selector: str
    verdict: Verdict
    detail: str = ""
    key: DkimKey | None = None
    signed_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageCheck:
    """The signatures of one message file and its From domain (for DMARC alignment)."""

    from_domain: str
    signatures: tuple[SignatureCheck, ...]
    #: Why the message could not be checked at all ("" when it could).
    problem: str = ""
    #: How many DKIM-Signature headers the message carries (more than are checked, at times).
    total: int = 0


def split_message(data: bytes) -> tuple[bytes, bytes, bool]:
    """(header section, body, whole) of RFC 5322 bytes, cut at the first empty line, where
    dkimpy cuts (CRLF or LF line ends). Only the first :data:`MAX_HEADER_BYTES` are searched:
    ``whole`` is False when the header section goes on beyond them (it is cut there)."""
    if data.startswith(b"\n"):
        return b"", data[1:], True
    if data.startswith(b"\r\n"):
        return b"", data[2:], True
    window = MAX_HEADER_BYTES + 3
    ends = [(at, size) for at, size in ((data.find(b"\n\n", 0, window), 2),
                                        (data.find(b"\n\r\n", 0, window), 3)) if at >= 0]
    if not ends:
        return data[:MAX_HEADER_BYTES], b"", len(data) <= MAX_HEADER_BYTES
    at, size = min(ends)
    return data[:at + 1], data[at + size:], at + 1 <= MAX_HEADER_BYTES


def from_domain_of(data: bytes) -> str:
    """The domain of a message's From header (lowercase; "" when there is none). Only the
    header section is parsed (the email package would decode a whole 25 MB message first)."""
    header, _body, _whole = split_message(data)
    headers = email.parser.BytesHeaderParser().parsebytes(header)
    _name, address = email.utils.parseaddr(str(headers.get("From", ""))[:MAX_FROM_CHARS])
    return address.rpartition("@")[2].lower().rstrip(".")


def crlf_lines(body: bytes) -> bytes:
    """The body with every line ending as CRLF, as dkimpy's parser leaves it (a bare LF becomes
    CRLF): two passes of ``bytes.replace``, not a regex whose list of pieces grows with every
    line (a body of millions of short lines made dkimpy's own parser take gigabytes)."""
    return body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


_CRLF_PAIRS_REVERSED = re.compile(rb"(?:\n\r)*")


def canonical_body(body: bytes, relaxed: bool) -> bytes:
    """RFC 6376 §3.4.3 (simple) or §3.4.4 (relaxed) canonicalization of a CRLF body, exactly as
    dkimpy computes it, with ``bytes`` methods whose cost does not depend on the content
    (dkimpy's regexes build one object per whitespace run: a hostile body makes millions)."""
    if relaxed:
        body = body.replace(b"\t", b" ")
        while b"  " in body:  # each pass halves every run of spaces
            body = body.replace(b"  ", b" ")
        body = body.replace(b" \r\n", b"\r\n")
    # Ignore empty lines at the end: only the CRLF pairs at the very end go, one stays. The tail
    # holds only CR and LF; its pairs are counted from the end, in one pass.
    tail = body[len(body.rstrip(b"\r\n")):]
    match = _CRLF_PAIRS_REVERSED.match(tail[::-1])
    pairs = match.end() // 2 if match else 0
    if pairs == 0:
        body += b"\r\n"
    else:
        body = body[:len(body) - 2 * pairs + 2]
    if relaxed and body == b"\r\n":
        return b""
    return body


class _BodyHashes:
    """The body hashes of one message, each computed once: every signature with the same
    canonicalization, algorithm and l= shares it (dkimpy recomputes it for each signature)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self._canonical: dict[bool, bytes] = {}
        self._digests: dict[tuple[bool, bytes, int | None], bytes] = {}

    def digest(self, relaxed: bool, algorithm: bytes, length: int | None) -> bytes:
        key = (relaxed, algorithm, length)
        if key not in self._digests:
            if relaxed not in self._canonical:
                self._canonical[relaxed] = canonical_body(self.body, relaxed)
            body = self._canonical[relaxed]
            hasher = HASH_ALGORITHMS[algorithm]()
            hasher.update(body if length is None else body[:length])
            self._digests[key] = hasher.digest()
        return self._digests[key]


@dataclass
class _Prepared:
    """A message taken apart for the checks: dkimpy's verifier holding the headers only, the
    signature headers, the body hashes and the From domain."""

    signer: dkim.DKIM
    signatures: list[bytes]
    hashes: _BodyHashes
    from_domain: str


def _prepare(data: bytes) -> _Prepared | str:
    """Take the message apart, or say why it cannot be ("" never)."""
    header, body, whole = split_message(data)
    if not whole:
        return (f"the header section is larger than {MAX_HEADER_BYTES // 1024} KB (real messages "
                "stay far below; Postfix keeps 100 KB of it by default)")
    try:
        from_domain = from_domain_of(header + b"\r\n")
        signer = dkim.DKIM(None, logger=_QUIET, minkey=MIN_RSA_BITS)
        signer.headers, _nothing = dkim.rfc822_parse(header + b"\r\n")
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        return f"the file is not a readable message ({exc})"
    # The body never reaches dkimpy: the body hashes are computed here, once (see _BodyHashes).
    signer.body = b""
    signatures = [value for name, value in signer.headers if name.lower() == b"dkim-signature"]
    return _Prepared(signer, signatures, _BodyHashes(crlf_lines(body)), from_domain)


_TAG = re.compile(rb"(?:^|;)\s*([ds])\s*=\s*([^;\s]*)")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _named(header: bytes) -> tuple[str, str]:
    """d= and s= of a signature header read leniently from its text, so a malformed signature
    still says whose it is ("" where the tag is missing)."""
    tags = {name: value for name, value in _TAG.findall(header[:4096])}
    return (tags.get(b"d", b"").decode("ascii", "replace").lower(),
            tags.get(b"s", b"").decode("ascii", "replace"))


def _refused_header(header: bytes) -> str:
    """Why a DKIM-Signature header is refused before dkimpy parses it ("" when it is not).

    dkimpy checks ``b=`` with a regex that backtracks quadratically on a long run of spaces,
    and its ``b=`` remover does too on runs of line breaks: a header is therefore refused when it
    is longer than any real one, or when its b= or bh= is not base64."""
    if len(header) > MAX_SIGNATURE_HEADER:
        return (f"the DKIM-Signature header is {len(header):,} bytes long; real ones stay under "
                f"2 KB, and it is not parsed beyond {MAX_SIGNATURE_HEADER:,}")
    tags = parse_tags(header.decode("ascii", "replace"))
    for name in ("b", "bh"):
        if name in tags and not _BASE64.fullmatch(tags[name]):
            return f"the {name}= value is not base64"
    return ""


def _verify(prepared: _Prepared, index: int, sig: dict[bytes, bytes],
            include_headers: list[bytes], record: bytes) -> tuple[Verdict, str]:
    """Check one signature against its key record: the body hash here (shared between
    signatures), then dkimpy for the signature over the headers. Runs in a worker thread."""
    try:
        policy = dkim.CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
        length = int(sig[b"l"]) if b"l" in sig else None
        expected = base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"]), validate=True)
        relaxed = policy.body_algorithm.name == b"relaxed"
        found = prepared.hashes.digest(relaxed, sig[b"a"], length)
    except (dkim.InvalidCanonicalizationPolicyError, ValueError, binascii.Error, KeyError) as exc:
        return Verdict.BAD_SIGNATURE, str(exc)
    if found != expected:
        return (Verdict.BODY_CHANGED, f"body hash mismatch (got {base64.b64encode(found).decode()}, "
                                      f"expected {sig[b'bh'].decode('ascii', 'replace')})")

    def handed_key(_name: bytes, timeout: float = 5) -> bytes:
        return record

    # Without bh=, dkimpy skips its own body hash (its verify_sig_process checks the body only
    # "if b'bh' in sig") and checks the signature over the headers alone.
    headers_only = {tag: value for tag, value in sig.items() if tag != b"bh"}
    sig_header = [h for h in prepared.signer.headers if h[0].lower() == b"dkim-signature"][index]
    try:
        valid = prepared.signer.verify_sig(headers_only, list(include_headers), sig_header,
                                           handed_key)
    except dkim.ValidationError as exc:
        return Verdict.BAD_SIGNATURE, str(exc)
    except dkim.KeyFormatError as exc:
        return Verdict.KEY_PROBLEM, str(exc)
    except dkim.DKIMException as exc:  # NaClNotFoundError and kin
        return Verdict.UNSUPPORTED, str(exc)
    if valid:
        return Verdict.VALID, ""
    return Verdict.HEADER_CHANGED, "the signature over the signed headers does not verify"


@dataclass(frozen=True)
class _Parsed:
    """A signature header dkimpy parsed: what :func:`_verify` needs, and whose it is."""

    index: int
    sig: dict[bytes, bytes]
    include_headers: list[bytes]
    domain: str
    selector: str
    signed: tuple[str, ...]


def _parse_signature(prepared: _Prepared, index: int) -> _Parsed | SignatureCheck:
    header = prepared.signatures[index]
    refused = _refused_header(header)
    if refused:
        domain, selector = _named(header)
        return SignatureCheck(index, domain, selector, Verdict.BAD_SIGNATURE, refused)
    try:
        prep = prepared.signer.verify_headerprep(index)
    except dkim.DKIMException as exc:
        domain, selector = _named(header)
        return SignatureCheck(index, domain, selector, Verdict.BAD_SIGNATURE, str(exc))
    sig, include_headers, _sig_headers = prep
    return _Parsed(index, sig, list(include_headers),
                   sig[b"d"].decode("ascii", "replace").lower(),
                   sig[b"s"].decode("ascii", "replace"),
                   tuple(h.decode("ascii", "replace") for h in include_headers))


def _verify_all(prepared: _Prepared, jobs: list[tuple[_Parsed, DkimKey]],
                done: dict[int, tuple[Verdict, str]], stop: threading.Event) -> None:
    """Verify signature after signature until done or told to stop (a thread cannot be
    cancelled: the flag is how the time limit ends its work)."""
    for parsed, key in jobs:
        if stop.is_set():
            return
        done[parsed.index] = _verify(prepared, parsed.index, parsed.sig, parsed.include_headers,
                                     key.record.encode("ascii", "replace"))


async def verify_message(dns: DnsClient, data: bytes, time_limit: float | None = None) -> MessageCheck:
    """Check the DKIM signatures of a message (RFC 5322 bytes), fetching keys through ``dns``.

    Bounded in every dimension: at most :data:`MAX_SIGNATURES` signatures (the count of the
    others is kept), keys refused before any arithmetic when absurd (see
    :func:`judge_key_record`), the keys fetched at the same time, the body hashed once per
    canonicalization, and the arithmetic in a worker thread, off the event loop, within
    ``time_limit`` seconds (default: :data:`VERIFY_TIMEOUTS` × the DNS timeout, inside the DKIM
    step's budget). What the time does not cover is reported as not checked, never as a verdict.
    """
    limit = time_limit if time_limit is not None else VERIFY_TIMEOUTS * dns.timeout
    deadline = time.monotonic() + limit
    prepared = await asyncio.to_thread(_prepare, data)
    if isinstance(prepared, str):
        return MessageCheck("", (), prepared)
    total = len(prepared.signatures)
    if total == 0:
        return MessageCheck(prepared.from_domain, (), "the message has no DKIM-Signature header")
    parsed = [_parse_signature(prepared, i) for i in range(min(total, MAX_SIGNATURES))]
    wanted = {(p.selector, p.domain) for p in parsed if isinstance(p, _Parsed)}
    fetches = {where: asyncio.ensure_future(dkim_key(dns, *where)) for where in wanted}
    if fetches:
        await asyncio.wait(fetches.values(), timeout=max(0.0, deadline - time.monotonic()))
    keys: dict[tuple[str, str], DkimKey] = {}
    for where, task in fetches.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            keys[where] = task.result()
        else:
            task.cancel()
    jobs = [(p, keys[(p.selector, p.domain)]) for p in parsed if isinstance(p, _Parsed)
            and (p.selector, p.domain) in keys and keys[(p.selector, p.domain)].state is KeyState.OK]
    done: dict[int, tuple[Verdict, str]] = {}
    stop = threading.Event()
    if jobs:
        try:
            await asyncio.wait_for(asyncio.to_thread(_verify_all, prepared, jobs, done, stop),
                                   max(0.001, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        finally:
            stop.set()
    late = f"the check did not finish within {limit:g} seconds"
    checks: list[SignatureCheck] = []
    for item in parsed:
        if isinstance(item, SignatureCheck):
            checks.append(item)
            continue
        key = keys.get((item.selector, item.domain))
        who = (item.index, item.domain, item.selector)
        if key is None:
            checks.append(SignatureCheck(*who, Verdict.NOT_CHECKED,
                                         late + " (the key lookup)", signed_headers=item.signed))
        elif key.state is not KeyState.OK:
            checks.append(SignatureCheck(*who, Verdict.KEY_PROBLEM, key.problem or key.state.value,
                                         key, item.signed))
        elif item.index in done:
            verdict, detail = done[item.index]
            checks.append(SignatureCheck(*who, verdict, detail, key, item.signed))
        else:
            checks.append(SignatureCheck(*who, Verdict.NOT_CHECKED, late, key, item.signed))
    return MessageCheck(prepared.from_domain, tuple(checks), total=total)
