"""TLS-RPT (RFC 8460): where senders send their daily reports about TLS to a domain's MX hosts.

The record is a TXT at ``_smtp._tls.DOMAIN``: ``v=TLSRPTv1; rua=mailto:...`` (or ``https:``).
Without it, a domain that enforces MTA-STS or DANE never hears about the senders that could not
deliver. This module looks it up and parses it strictly (pure parser, one lookup); the rules
judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mxwizard.probes.dns import DnsClient, Lookup, Outcome

#: Report addresses read from one record (senders send to each; real records have one or two).
MAX_RUA = 10
_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_MAILBOX = re.compile(r"^[^@\s<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class TlsRptRecord:
    """One ``v=TLSRPTv1`` record, parsed."""

    text: str
    #: The report destinations (``mailto:`` and ``https:`` URIs) as written.
    rua: tuple[str, ...]
    #: Departures from RFC 8460 §3 that make senders ignore the record (empty when valid).
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """Senders can send reports with it."""
        return not self.problems and bool(self.rua)


@dataclass(frozen=True)
class TlsRptFacts:
    """The TXT lookup at ``_smtp._tls.DOMAIN`` and the records that claim to be TLS-RPT."""

    domain: str
    lookup: Lookup
    records: tuple[str, ...] = ()
    #: The record, parsed, when there is exactly one.
    record: TlsRptRecord | None = None


def rua_problem(uri: str) -> str:
    """Why a report URI is unusable, or "" (RFC 8460 §3: ``mailto:`` or ``https:``)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        address = unquote(uri.split(":", 1)[1].split("?", 1)[0])
        if not _MAILBOX.match(address):
            return f"'{uri[:80]}' does not name a mailbox"
        return ""
    if scheme == "https":
        if not parts.hostname:
            return f"'{uri[:80]}' names no web server"
        return ""
    if scheme == "http":
        return f"'{uri[:80]}' uses http: reports may only go to https: (or mailto:)"
    return f"'{uri[:80]}' is neither a mailto: nor an https: address"


def parse_tls_rpt(text: str) -> TlsRptRecord:
    """Parse one TXT string that starts with ``v=TLSRPTv1``."""
    problems: list[str] = []
    fields = [f.strip(" \t") for f in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=TLSRPTv1":
        problems.append("the record must begin with exactly 'v=TLSRPTv1;'")
    rua: list[str] = []
    seen_rua = False
    for item in fields[1:]:
        name, sep, value = item.partition("=")
        if not sep:
            problems.append(f"'{item[:60]}' is not a name=value field")
        elif name == "rua":
            if seen_rua:
                problems.append("rua= appears twice")
                continue
            seen_rua = True
            uris = [u.strip(" \t") for u in value.split(",")]
            if len(uris) > MAX_RUA:
                problems.append(f"more than {MAX_RUA} report addresses; only the first are read")
            for uri in uris[:MAX_RUA]:
                problem = rua_problem(uri) if uri else "an empty report address"
                if problem:
                    problems.append(problem)
                else:
                    rua.append(uri)
        elif not _EXT_NAME.match(name) or not value:
            problems.append(f"'{item[:60]}' is not a valid field")
    if not seen_rua:
        problems.append("there is no rua= field: senders have nowhere to send reports")
    return TlsRptRecord(text, tuple(rua), tuple(problems))


async def tls_rpt(dns: DnsClient, domain: str) -> TlsRptFacts:
    """Look up and parse the TLS-RPT record of ``domain``."""
    lookup = await dns.query(f"_smtp._tls.{domain}", "TXT")
    texts = lookup.texts() if lookup.outcome is Outcome.ANSWER else []
    records = tuple(t for t in texts if t.startswith("v=TLSRPTv1"))
    record = parse_tls_rpt(records[0]) if len(records) == 1 else None
    return TlsRptFacts(domain, lookup, records, record)
