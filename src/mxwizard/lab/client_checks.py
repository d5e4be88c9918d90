"""The lab hosts' client checks: reverse DNS, forward confirmation and blocklist of a client IP.

A strict receiver (Postfix's `reject_unknown_client_hostname` and `reject_rbl_client`) looks the
connecting address up in DNS before it accepts a recipient. The lab does the same against the
lab's own DNS server, so that the send scenarios ("no PTR", "PTR not confirmed", "on a blocklist")
are answered by real lookups that a trainer can watch with ``dig``, not by a table in the server.

This is the only part of the mail hosts that asks DNS; what the replies say lives with the other
replies in :mod:`mxwizard.lab.smtp_policy`. Like Postfix, a failed reverse lookup is a temporary
refusal (451 4.3.0), and a blocklist that cannot be reached counts as "not listed".
"""

from __future__ import annotations

import contextlib

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
import dns.reversename

from mxwizard.core.untrusted import visible
from mxwizard.lab.smtp_policy import LOOKUP_FAILURE_REPLY, blocklisted_reply, unknown_client_reply

DNS_TIMEOUT = 2.0
"""Seconds a client check waits for the lab DNS before answering 451 4.3.0."""


class ClientChecks:
    """Reverse DNS, forward confirmation and blocklist lookup of a client IP, Postfix style."""

    def __init__(self, resolver: tuple[str, int], dnsbl_zone: str) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [dns.nameserver.Do53Nameserver(resolver[0], resolver[1])]
        self._resolver.cache = None  # the lab's DNS may be changed by a lesson: always ask
        self._resolver.timeout = DNS_TIMEOUT
        self._resolver.lifetime = DNS_TIMEOUT
        self.dnsbl_zone = dnsbl_zone.rstrip(".")

    async def _lookup(self, name: str | dns.name.Name, rdtype: str) -> list[str] | None:
        """Answers as text; None for NXDOMAIN/NODATA; other failures raise DNSException."""
        try:
            answer = await self._resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return [rdata.to_text() for rdata in answer]

    async def rejection(self, ip: str) -> str | None:
        """The reply for a client connecting from `ip`, or None if it passes every check."""
        try:
            names = await self._lookup(dns.reversename.from_address(ip), "PTR")
            if not names:
                return unknown_client_reply(ip)
            addresses = await self._lookup(names[0], "A")
            if not addresses or ip not in addresses:
                return unknown_client_reply(ip)
        except dns.exception.DNSException:
            return LOOKUP_FAILURE_REPLY
        return await self._blocklist_rejection(ip)

    async def _blocklist_rejection(self, ip: str) -> str | None:
        query = ".".join(reversed(ip.split("."))) + "." + self.dnsbl_zone + "."
        try:
            if not await self._lookup(query, "A"):
                return None
        except dns.exception.DNSException:
            return None  # like Postfix: a blocklist that cannot be reached lists nobody
        reason: str | None = None
        with contextlib.suppress(dns.exception.DNSException):
            answer = await self._resolver.resolve(query, "TXT", search=False)
            text = b"".join(answer[0].strings).decode("utf-8", "replace")
            reason = visible(text, limit=200)  # the TXT is the list's text: shown, never obeyed
        return blocklisted_reply(ip, self.dnsbl_zone, reason)
