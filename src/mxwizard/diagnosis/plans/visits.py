"""Visiting mail hosts the way a sending server does, for the receive walk and the rehearsal.

A visit is one SMTP session with one MX host, recorded into the diagnosis's transcripts: EHLO,
STARTTLS when offered, MAIL FROM, RCPT TO for each recipient, QUIT — never DATA. Like a real
sender it retries once after a greylisting deferral (after a short, bounded wait), and when the
SMTP port times out it checks whether the host answers on another port, which tells "the host is
down" from "port 25 is filtered on the way".

A host with both IPv6 and IPv4 addresses is visited on each family, in the order a dual-stack
sender tries them (RFC 5321 §5.1, RFC 6724: IPv6 first, then IPv4): a sender whose IPv6
connection fails falls back to IPv4, so a broken IPv6 side delays mail without stopping it, and
only a visit per family shows it. The visit that counts is the one a sender ends up with; the
others ride along in :attr:`Visit.alternates`.

The bounds of the visits live here (the index of every SMTP bound is in
:mod:`mxwizard.probes.smtp.session`): each session ends within ``SESSION_TIMEOUTS`` × ``--timeout``;
at most :data:`MAX_MX_HOSTS` hosts of a domain are visited (:data:`SENDER_MX_HOSTS` in the
delivery rehearsal, as senders do), the most preferred first; and at most :data:`SMTP_SESSIONS`
sessions of one diagnosis are open at once, in a pool of their own beside the DNS concurrency
(``Context.smtp_sessions``, which the runner makes for each diagnosis).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace

from mxwizard.diagnosis.facts import Visit, family
from mxwizard.diagnosis.rules.smtp import decisive_reply
from mxwizard.diagnosis.tree import SMTP_SESSIONS as SMTP_SESSIONS  # the bound of the pool
from mxwizard.diagnosis.tree import Context
from mxwizard.knowledge.bounces import GREYLISTED
from mxwizard.knowledge.replies import meaning
from mxwizard.probes.mx import MxHost
from mxwizard.probes.public_ip import Scope, address_scope
from mxwizard.probes.smtp.reachability import other_ports
from mxwizard.probes.smtp.session import Command, ConnectOutcome, SessionFacts, smtp_session

#: How long a visit waits before retrying a greylisted recipient. Real greylists often want
#: minutes; we wait a few seconds at most and say so when the retry is still deferred.
GREYLIST_WAIT_SECONDS = 3.0
#: The HELO name of the receive probe when the user gave none: clearly not a real host, so a
#: server that rejects it tells us about its HELO policy, not about real senders.
PROBE_HELO = "probe.mxwizard.invalid"
#: Most MX hosts the receive walk visits: the most preferred ones (the lowest preference values).
#: A diagnosis looks further down the list than a sender, but not without end: a domain with
#: hundreds of MX records would otherwise get hundreds of sessions. The others are named in a note.
MAX_MX_HOSTS = 10
#: Most MX hosts the delivery rehearsal tries, in preference order, as senders do: Postfix tries
#: at most 5 addresses (smtp_mx_address_limit), Exim 5 hosts (hosts_max_try).
SENDER_MX_HOSTS = 5


@contextlib.asynccontextmanager
async def smtp_slot(ctx: Context) -> AsyncIterator[None]:
    """Hold one of the diagnosis's :data:`SMTP_SESSIONS` session slots (and one network slot)
    while an SMTP session runs: the time a session waits here is not part of its budget."""
    async with ctx.smtp_sessions, ctx.slots:
        yield


def most_preferred(hosts: list[MxHost], limit: int) -> tuple[list[MxHost], list[MxHost]]:
    """``hosts`` in preference order, split into the first ``limit`` (visited) and the rest (left
    out); hosts of equal preference keep the order DNS gave them."""
    ordered = sorted(hosts, key=lambda h: h.preference)
    return ordered[:limit], ordered[limit:]


def addresses_to_try(host: MxHost, own_networks: tuple[str, ...] = ()) -> list[str]:
    """One address per family, in the order a dual-stack sender tries them: the first IPv6
    address, then the first IPv4 one (RFC 6724's default policy prefers IPv6).

    A sender would go on to the host's further addresses; a diagnosis learns what it needs from
    one per family, and keeps the sessions per host at two. (RFC 6724 ranks IPv4-mapped IPv6
    addresses with IPv4; the lab's AAAA records use them to stay on loopback, and count as
    IPv6 here, since they stand for real IPv6 addresses.) Only addresses a sender on the
    internet could reach are tried (or those of the user's own network, ``--private-network``):
    the probe never connects to somebody else's private address."""
    reachable = [a for a in host.addresses if address_scope(a, own_networks) is Scope.PUBLIC]
    v6 = [a for a in reachable if family(a) == 6]
    v4 = [a for a in reachable if family(a) == 4]
    return v6[:1] + v4[:1]


def source_for(destination: str, source: str | None) -> str | None:
    """The local address to connect to ``destination`` from: ``source`` (--source-ip) in the
    destination's family, or None to let the system choose.

    An IPv4 source reaches an IPv4-mapped IPv6 destination (``::ffff:a.b.c.d``, a dual-stack
    socket that goes out over IPv4) as ``::ffff:SOURCE``; a native IPv6 destination cannot be
    reached from an IPv4 source at all, so that connection is not bound (it leaves from the
    machine's own IPv6 address), and likewise the other way round."""
    if source is None:
        return None
    dst, src = ipaddress.ip_address(destination), ipaddress.ip_address(source)
    src_v4 = src if isinstance(src, ipaddress.IPv4Address) else src.ipv4_mapped
    if isinstance(dst, ipaddress.IPv6Address) and dst.ipv4_mapped is None:
        return source if src_v4 is None else None
    if src_v4 is None:
        return None
    return f"::ffff:{src_v4}" if dst.version == 6 else str(src_v4)


def _greylisted(session: SessionFacts) -> bool:
    for exchange in session.replies_to("RCPT"):
        reply = exchange.reply
        if reply is not None and reply.transient and \
                meaning(reply.code, reply.text).bounce_class == GREYLISTED:
            return True
    return False


async def visit(
    ctx: Context, host: MxHost, *, helo: str, sender: str, recipients: list[str],
    every_family: bool = True, purpose: str = "the test delivery",
) -> Visit | None:
    """A delivery attempt at ``host`` (up to RCPT) on each of its address families, IPv6 first;
    the visit returned is the first that was greeted (the one a sender ends up with), else the
    first tried, with the other family's in :attr:`Visit.alternates`.

    ``every_family``: visit both families at once, even when the first works (a diagnosis of
    the host); otherwise go on to IPv4 only when IPv6 could not be talked to (a sender).
    ``purpose`` names the sessions in a finding when one is cut off for taking too long."""
    addresses = addresses_to_try(host, ctx.settings.own_networks)
    if not addresses:
        return None
    if every_family:
        tried = list(await asyncio.gather(*(
            _visit_address(ctx, host, ip, helo=helo, sender=sender, recipients=recipients,
                           purpose=purpose)
            for ip in addresses)))
    else:
        tried = []
        for ip in addresses:
            tried.append(await _visit_address(ctx, host, ip, helo=helo, sender=sender,
                                              recipients=recipients, purpose=purpose))
            if tried[-1].first.outcome is ConnectOutcome.GREETED:
                break
    chosen = next((v for v in tried if v.first.outcome is ConnectOutcome.GREETED), tried[0])
    return replace(chosen, alternates=tuple(v for v in tried if v is not chosen))


async def _visit_address(
    ctx: Context, host: MxHost, ip: str, *, helo: str, sender: str, recipients: list[str],
    purpose: str,
) -> Visit:
    """One delivery attempt at one address of ``host``, retried once if it was greylisted.

    Each session ends within ``SESSION_TIMEOUTS`` × ``--timeout`` (``smtp_session``'s budget);
    the whole visit within twice that, the greylisting wait and a timeout for the other ports."""
    settings = ctx.settings
    source = source_for(ip, settings.source_ip)
    steps = [Command.ehlo(), Command.starttls(), Command.mail_from(sender),
             *(Command.rcpt_to(r) for r in recipients), Command.quit()]

    async def session() -> SessionFacts:
        async with smtp_slot(ctx):
            return await smtp_session(
                host.host, ip, settings.smtp_port, helo=helo, steps=steps,
                timeout=settings.timeout, on_line=ctx.session(host.host, ip, settings.smtp_port),
                clock=ctx.clock, source_ip=source, purpose=purpose,
            )

    first = await session()
    retry = None
    if _greylisted(first):
        await asyncio.sleep(min(GREYLIST_WAIT_SECONDS, settings.timeout))
        retry = await session()
    ports: dict[int, str] = {}
    if first.outcome is ConnectOutcome.TIMEOUT:
        async with ctx.slots:
            ports = await other_ports(ip, settings.timeout, source)
    return Visit(host.preference, host.host, ip, first, retry, ports)


async def visit_all(
    ctx: Context, hosts: list[MxHost], *, helo: str, sender: str, recipients: list[str]
) -> list[Visit]:
    """Visit the :data:`MAX_MX_HOSTS` most preferred MX hosts together (a diagnosis wants to
    know about each of them), at most :data:`SMTP_SESSIONS` sessions at a time."""
    visited, _left_out = most_preferred(hosts, MAX_MX_HOSTS)
    found = await asyncio.gather(*(visit(ctx, h, helo=helo, sender=sender, recipients=recipients)
                                   for h in visited))
    return [v for v in found if v is not None]


async def visit_in_order(
    ctx: Context, hosts: list[MxHost], *, helo: str, sender: str, recipients: list[str]
) -> list[Visit]:
    """Visit MX hosts in preference order as a sender does: stop at the first final answer
    (accepted, or refused for good); move on after a refusal, a timeout or a temporary error;
    give up after the :data:`SENDER_MX_HOSTS` most preferred, as senders do."""
    visits: list[Visit] = []
    for host in most_preferred(hosts, SENDER_MX_HOSTS)[0]:
        found = await visit(ctx, host, helo=helo, sender=sender, recipients=recipients,
                            every_family=False, purpose="the delivery rehearsal")
        if found is None:
            continue
        visits.append(found)
        reply = decisive_reply(found.final)
        if reply is not None and not reply.transient:
            break
    return visits
