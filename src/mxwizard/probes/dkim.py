"""DKIM: is the signing key published, and does a message's signature verify? (dkimpy)

``dkim.verify()`` only says True or False, which tells a novice nothing. So the steps are taken
apart (see NOTES.md): the signature header is parsed first, the key is fetched with the
diagnosis's own async DNS client and judged here (missing, revoked with an empty ``p=``,
malformed, too small), and only then does dkimpy verify, with a DNS function that hands it the
key already fetched. Its exceptions tell a changed body (body hash mismatch) from a changed
header or wrong key (the signature over the headers does not verify).
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.utils
import logging
import re
from dataclasses import dataclass, field
from enum import Enum

import dkim

from mxwizard.probes.dns import DnsClient, Lookup, Outcome

#: RFC 8301: verifiers must not accept RSA keys shorter than this; signers should use 2048.
MIN_RSA_BITS = 1024
RECOMMENDED_RSA_BITS = 2048
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
    try:
        _pk, bits, _ktag, _tlsrpt = dkim.evaluate_pk("key", record.encode("ascii", "replace"))
    except (dkim.KeyFormatError, binascii.Error, ValueError, TypeError, KeyError) as exc:
        return KeyState.MALFORMED, record, key_type, 0, f"the RSA key does not parse ({exc})", tags
    if int(bits) < MIN_RSA_BITS:
        return (KeyState.TOO_SMALL, record, key_type, int(bits),
                f"{bits}-bit RSA key (receivers ignore keys under {MIN_RSA_BITS} bits)", tags)
    return KeyState.OK, record, key_type, int(bits), "", tags


async def dkim_key(dns: DnsClient, selector: str, domain: str) -> DkimKey:
    """Fetch and judge the key record at ``SELECTOR._domainkey.DOMAIN``."""
    lookup = await dns.query(f"{selector}._domainkey.{domain}", "TXT")
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
    KEY_PROBLEM = "key-problem"  # the key is missing, revoked, malformed, too small
    BAD_SIGNATURE = "bad-signature"  # the DKIM-Signature header itself is malformed
    UNSUPPORTED = "unsupported"  # e.g. ed25519 without PyNaCl


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


def from_domain_of(data: bytes) -> str:
    """The domain of a message's From header (lowercase; "" when there is none)."""
    headers = email.parser.BytesHeaderParser().parsebytes(data)
    _name, address = email.utils.parseaddr(str(headers.get("From", "")))
    return address.rpartition("@")[2].lower().rstrip(".")


_TAG = re.compile(rb"(?:^|;)\s*([ds])\s*=\s*([^;\s]*)")


def _named_in(signer: dkim.DKIM, index: int) -> tuple[str, str]:
    """d= and s= of a signature dkimpy refused to parse, read leniently from the header text,
    so a malformed signature still says whose it is ("" where the tag is missing)."""
    found = [value for name, value in signer.headers if name.lower() == b"dkim-signature"]
    if index >= len(found):
        return "", ""
    tags = {name: value for name, value in _TAG.findall(found[index][:4096])}
    return (tags.get(b"d", b"").decode("ascii", "replace").lower(),
            tags.get(b"s", b"").decode("ascii", "replace"))


async def _check_signature(dns: DnsClient, signer: dkim.DKIM, index: int) -> SignatureCheck:
    try:
        prep = signer.verify_headerprep(index)
    except dkim.DKIMException as exc:
        domain, selector = _named_in(signer, index)
        return SignatureCheck(index, domain, selector, Verdict.BAD_SIGNATURE, str(exc))
    sig, include_headers, sig_headers = prep
    domain = sig[b"d"].decode("ascii", "replace").lower()
    selector = sig[b"s"].decode("ascii", "replace")
    signed = tuple(h.decode("ascii", "replace") for h in include_headers)
    key = await dkim_key(dns, selector, domain)
    if key.state is not KeyState.OK:
        return SignatureCheck(index, domain, selector, Verdict.KEY_PROBLEM,
                              key.problem or key.state.value, key, signed)
    record = key.record.encode("ascii", "replace")

    def handed_key(_name: bytes, timeout: float = 5) -> bytes:
        return record

    try:
        valid = signer.verify_sig(sig, list(include_headers), sig_headers[index], handed_key)
    except dkim.ValidationError as exc:
        verdict = Verdict.BODY_CHANGED if "body hash" in str(exc) else Verdict.BAD_SIGNATURE
        return SignatureCheck(index, domain, selector, verdict, str(exc), key, signed)
    except dkim.KeyFormatError as exc:
        return SignatureCheck(index, domain, selector, Verdict.KEY_PROBLEM, str(exc), key, signed)
    except dkim.DKIMException as exc:  # NaClNotFoundError and kin
        return SignatureCheck(index, domain, selector, Verdict.UNSUPPORTED, str(exc), key, signed)
    if valid:
        return SignatureCheck(index, domain, selector, Verdict.VALID, "", key, signed)
    return SignatureCheck(index, domain, selector, Verdict.HEADER_CHANGED,
                          "the signature over the signed headers does not verify", key, signed)


async def verify_message(dns: DnsClient, data: bytes) -> MessageCheck:
    """Check every DKIM signature of a message (RFC 5322 bytes), fetching keys through ``dns``."""
    try:
        from_domain = from_domain_of(data)
        signer = dkim.DKIM(data, logger=_QUIET, minkey=MIN_RSA_BITS)
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        return MessageCheck("", (), f"the file is not a readable message ({exc})")
    count = sum(1 for name, _value in signer.headers if name.lower() == b"dkim-signature")
    if count == 0:
        return MessageCheck(from_domain, (), "the message has no DKIM-Signature header")
    checks = [await _check_signature(dns, signer, i) for i in range(min(count, 8))]
    return MessageCheck(from_domain, tuple(checks))
