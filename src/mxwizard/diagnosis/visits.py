"""Visiting mail hosts the way a sending server does, for the receive walk and the rehearsal.

A visit is one SMTP session with one MX host (its first address), recorded into the diagnosis's
transcripts: EHLO, STARTTLS when offered, MAIL FROM, RCPT TO for each recipient, QUIT — never
DATA. Like a real sender it retries once after a greylisting deferral (after a short, bounded
wait), and when the SMTP port times out it checks whether the host answers on another port, which
tells "the host is down" from "port 25 is filtered on the way".
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

from mxwizard.diagnosis.runner import Context
from mxwizard.knowledge.replies import meaning
from mxwizard.probes.mx import MxHost
from mxwizard.probes.reachability import other_ports
from mxwizard.probes.smtp import Command, ConnectOutcome, Reply, SessionFacts, smtp_session

#: How long a visit waits before retrying a greylisted recipient. Real greylists often want
#: minutes; we wait a few seconds at most and say so when the retry is still deferred.
GREYLIST_WAIT_SECONDS = 3.0
#: The HELO name of the receive probe when the user gave none: clearly not a real host, so a
#: server that rejects it tells us about its HELO policy, not about real senders.
PROBE_HELO = "probe.mxwizard.invalid"


@dataclass(frozen=True)
class Visit:
    """What one MX host did with our attempt to deliver (and the retry after greylisting)."""

    preference: int
    host: str
    ip: str
    first: SessionFacts
    retry: SessionFacts | None = None
    #: When the SMTP port timed out: what other ports of the host answered (see reachability).
    other_ports: dict[int, str] = field(default_factory=dict)

    @property
    def final(self) -> SessionFacts:
        """The session whose answer counts (the retry, if there was one)."""
        return self.retry or self.first


def preferred_address(host: MxHost) -> str | None:
    """The address a visit uses: the first IPv4 address, else the first IPv6 one."""
    addresses = host.addresses
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    candidates = v4 or addresses
    return candidates[0] if candidates else None


def decisive_reply(session: SessionFacts) -> Reply | None:
    """The reply that decided the attempt: the first refusal or deferral (greeting, HELO, MAIL,
    RCPT), else the last RCPT reply. STARTTLS refusals do not decide: senders go on in clear."""
    if session.banner is not None and session.banner.code >= 400:
        return session.banner
    for exchange in session.exchanges:
        reply = exchange.reply
        if exchange.verb in {"STARTTLS", "QUIT"} or reply is None:
            continue
        if reply.code >= 400:
            return reply
    rcpt = session.last("RCPT")
    return rcpt.reply if rcpt is not None else None


def _greylisted(session: SessionFacts) -> bool:
    for exchange in session.replies_to("RCPT"):
        reply = exchange.reply
        if reply is not None and reply.transient and \
                meaning(reply.code, reply.text).bounce_class == "greylisted":
            return True
    return False


async def visit(
    ctx: Context, host: MxHost, *, helo: str, sender: str, recipients: list[str]
) -> Visit | None:
    """One delivery attempt at ``host`` (up to RCPT), retried once if it was greylisted."""
    ip = preferred_address(host)
    if ip is None:
        return None
    settings = ctx.settings
    steps = [Command.ehlo(), Command.starttls(), Command.mail_from(sender),
             *(Command.rcpt_to(r) for r in recipients), Command.quit()]

    async def session() -> SessionFacts:
        async with ctx.slots:
            return await smtp_session(
                host.host, ip, settings.smtp_port, helo=helo, steps=steps,
                timeout=settings.timeout, on_line=ctx.session(host.host, ip, settings.smtp_port),
                clock=ctx.clock, source_ip=settings.source_ip,
            )

    first = await session()
    retry = None
    if _greylisted(first):
        await asyncio.sleep(min(GREYLIST_WAIT_SECONDS, settings.timeout))
        retry = await session()
    ports: dict[int, str] = {}
    if first.outcome is ConnectOutcome.TIMEOUT:
        async with ctx.slots:
            ports = await other_ports(ip, settings.timeout, settings.source_ip)
    return Visit(host.preference, host.host, ip, first, retry, ports)


async def visit_all(
    ctx: Context, hosts: list[MxHost], *, helo: str, sender: str, recipients: list[str]
) -> list[Visit]:
    """Visit every MX host at the same time (a diagnosis wants to know about each of them)."""
    found = await asyncio.gather(*(visit(ctx, h, helo=helo, sender=sender, recipients=recipients)
                                   for h in hosts))
    return [v for v in found if v is not None]


async def visit_in_order(
    ctx: Context, hosts: list[MxHost], *, helo: str, sender: str, recipients: list[str]
) -> list[Visit]:
    """Visit MX hosts in preference order as a sender does: stop at the first final answer
    (accepted, or refused for good); move on after a refusal, a timeout or a temporary error."""
    visits: list[Visit] = []
    for host in sorted(hosts, key=lambda h: h.preference):
        found = await visit(ctx, host, helo=helo, sender=sender, recipients=recipients)
        if found is None:
            continue
        visits.append(found)
        reply = decisive_reply(found.final)
        if reply is not None and not reply.transient:
            break
    return visits
