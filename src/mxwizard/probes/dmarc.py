"""DMARC: what the From domain asks receivers to do when SPF and DKIM do not line up (RFC 7489).

The record lives at ``_dmarc.DOMAIN``; when there is none, receivers look at the organisational
domain (``_dmarc.example.co.uk`` for ``mail.example.co.uk``), found with the public suffix list.
The list comes from the ``publicsuffixlist`` package, which ships its data (no download at run
time); without it, a small built-in fallback knows the common two-label suffixes, and treats any
other name's last label as the suffix (right for ``.test``, ``.com``, ``.org``...).

The record parser is pure and never raises: records are hostile input.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field

from mxwizard.probes.dns import DnsClient, Lookup, Outcome

_FALLBACK_SUFFIXES = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.au", "net.au", "org.au", "co.nz",
    "co.jp", "ne.jp", "or.jp", "com.br", "com.cn", "com.mx", "co.za", "co.in", "com.tr",
    "com.ar", "co.kr", "com.sg", "com.hk", "com.tw", "co.il",
})


@functools.cache
def _suffix_list() -> object | None:
    """The packaged public suffix list, parsed on first use (it takes a noticeable fraction of a
    second, which ``mxwizard --help`` and the receive check should not pay)."""
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError:
        return None
    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """The registered domain above ``domain`` (its public suffix plus one label)."""
    domain = domain.lower().rstrip(".")
    psl = _suffix_list()
    if psl is not None:
        found = psl.privatesuffix(domain)  # type: ignore[attr-defined]
        return str(found) if found else domain
    labels = domain.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _FALLBACK_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


@dataclass(frozen=True)
class DmarcRecord:
    """A parsed DMARC record."""

    text: str
    tags: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def policy(self) -> str:
        """``p=``: none, quarantine or reject ("" when missing or invalid)."""
        value = self.tags.get("p", "").lower()
        return value if value in {"none", "quarantine", "reject"} else ""

    @property
    def subdomain_policy(self) -> str:
        """``sp=`` (falls back to ``p=``), the policy for subdomains of the organisational domain."""
        value = self.tags.get("sp", "").lower()
        return value if value in {"none", "quarantine", "reject"} else self.policy

    @property
    def strict_spf(self) -> bool:
        """``aspf=s``: the MAIL FROM domain must equal the From domain exactly."""
        return self.tags.get("aspf", "r").lower() == "s"

    @property
    def strict_dkim(self) -> bool:
        """``adkim=s``: the signing domain must equal the From domain exactly."""
        return self.tags.get("adkim", "r").lower() == "s"

    @property
    def percent(self) -> int:
        """``pct=``: the share of failing mail the policy applies to (default 100)."""
        try:
            return max(0, min(100, int(self.tags.get("pct", "100"))))
        except ValueError:
            return 100


def is_dmarc(text: str) -> bool:
    """True when a TXT string is a DMARC record (it must begin with ``v=DMARC1``)."""
    return text.replace(" ", "").replace("\t", "").startswith("v=DMARC1")


def parse_dmarc(text: str) -> DmarcRecord:
    """Take a record apart; pure, never raises. Problems are collected, not thrown."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    if not is_dmarc(text):
        return DmarcRecord(text, {}, ("not a DMARC record (it must start with v=DMARC1)",))
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not name and not value.strip():
            continue
        if not eq:
            problems.append(f"'{part.strip()}' is not a tag=value pair")
            continue
        if name in tags:
            problems.append(f"{name}= appears more than once")
            continue
        tags[name] = value.strip()
    record = DmarcRecord(text, tags, ())
    if "p" not in tags:
        problems.append("p= is missing (it must follow v=DMARC1)")
    elif not record.policy:
        problems.append(f"p={tags['p']} is not none, quarantine or reject")
    for name in ("aspf", "adkim"):
        if name in tags and tags[name].lower() not in {"r", "s"}:
            problems.append(f"{name}={tags[name]} must be r or s")
    return DmarcRecord(text, tags, tuple(problems))


@dataclass(frozen=True)
class DmarcFacts:
    """The DMARC record that applies to a From domain, and where it was found."""

    domain: str
    organisational: str
    #: The lookups made: the domain's, then (if needed) the organisational domain's.
    lookups: tuple[Lookup, ...]
    record: DmarcRecord | None = None
    #: Where the record was found ("" when there is none).
    found_at: str = ""
    #: More than one DMARC record at the name: receivers then apply no policy (RFC 7489 §6.6.3).
    several: bool = False

    @property
    def failed_lookup(self) -> Lookup | None:
        """The lookup that got no usable answer, if one did (the record may exist after all)."""
        return next((lk for lk in self.lookups if lk.outcome.is_failure), None)


def _records(lookup: Lookup) -> list[str]:
    if lookup.outcome is not Outcome.ANSWER:
        return []
    return [t for t in lookup.texts() if is_dmarc(t)]


async def dmarc_record(dns: DnsClient, domain: str) -> DmarcFacts:
    """The DMARC record for ``domain``: its own, else its organisational domain's.

    Both names are asked at the same time (one round trip); the organisational answer is used
    only when the domain itself has none.
    """
    domain = domain.lower().rstrip(".")
    own = asyncio.ensure_future(dns.query(f"_dmarc.{domain}", "TXT"))
    await asyncio.to_thread(_suffix_list)  # parsed off the event loop, while the query flies
    org = organisational_domain(domain)
    ask_org = [dns.query(f"_dmarc.{org}", "TXT")] if org != domain else []
    lookups = tuple(await asyncio.gather(own, *ask_org))
    for lookup, at in zip(lookups, [domain, org], strict=False):
        found = _records(lookup)
        if lookup.outcome.is_failure:
            return DmarcFacts(domain, org, lookups)
        if found:
            return DmarcFacts(domain, org, lookups, parse_dmarc(found[0]), at, len(found) > 1)
    return DmarcFacts(domain, org, lookups)


def aligned(identity_domain: str, from_domain: str, strict: bool) -> bool:
    """DMARC identifier alignment: equal (strict), or the same organisational domain (relaxed)."""
    a, b = identity_domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return a == b
    return organisational_domain(a) == organisational_domain(b)
