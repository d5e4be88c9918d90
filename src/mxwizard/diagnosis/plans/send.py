"""The send branch: would a receiver accept mail from this server, as this sender?

The postmaster's questions, in the order a receiver asks them: which address does the mail come
from (and is the server behind NAT), does that address have a confirmed, non-generic name, does
the HELO name fit, does the sender's domain exist, is the address on a blocklist, does SPF
authorise it, is DKIM in order, and does the result satisfy the domain's DMARC policy.

Independent questions overlap: once the IP is known, reverse DNS, the blocklists and SPF run at
the same time; the sender domain, DKIM and the DMARC record need no IP and start at once. HELO
waits for reverse DNS (without ``--helo`` it assumes the PTR name); the DMARC alignment waits
for SPF and DKIM; the identity table comes last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mxwizard.core.inputs import MAX_MESSAGE_BYTES, InputError, MailAddress, read_regular_file
from mxwizard.diagnosis.facts import (
    DKIM,
    DMARC,
    DMARC_ALIGNMENT,
    DNSBL,
    HELO,
    IDENTITY,
    IP,
    RDNS,
    SENDER_DOMAIN,
    SPF,
    BlocklistFacts,
    DkimFacts,
    SpfFacts,
)
from mxwizard.diagnosis.plans.delivery import delivery_steps
from mxwizard.diagnosis.plans.transport import checklist_step
from mxwizard.diagnosis.rules.blocklists import judge_blocklists
from mxwizard.diagnosis.rules.dkim import judge_dkim
from mxwizard.diagnosis.rules.dmarc import judge_alignment, judge_dmarc_record
from mxwizard.diagnosis.rules.identity import (
    judge_helo,
    judge_ip,
    judge_rdns,
    judge_sender_domain,
    usable_ip,
    why_no_ip,
)
from mxwizard.diagnosis.rules.identity_table import judge_identity
from mxwizard.diagnosis.rules.reconcile import reconcile_send
from mxwizard.diagnosis.rules.spf import judge_spf
from mxwizard.diagnosis.tree import Context, Facts, Plan, Step
from mxwizard.knowledge.blocklists import DEFAULT_DOMAIN_LISTS, DEFAULT_IP_LISTS, ListKind, blocklist
from mxwizard.probes.blocklists import blocklist_sweep
from mxwizard.probes.dkim import dkim_key, from_domain_of, verify_message
from mxwizard.probes.dmarc import DmarcFacts, dmarc_record
from mxwizard.probes.dns import system_nameservers
from mxwizard.probes.helo import HeloFacts, helo_facts, is_bare
from mxwizard.probes.mx import MailRoute, mail_route
from mxwizard.probes.public_ip import PublicIp, Scope, address_scope, detect_public_ip
from mxwizard.probes.reverse_dns import ReverseDns, reverse_dns
from mxwizard.probes.spf import check_spf, include_tree


def _read_message(path: str) -> tuple[bytes, str]:
    """The message file's bytes, or an explanation why it cannot be read: only a regular file,
    opened so that a named pipe cannot hang the check, and never read beyond
    :data:`~mxwizard.core.inputs.MAX_MESSAGE_BYTES` (see :func:`~mxwizard.core.inputs.read_regular_file`)."""
    try:
        return read_regular_file(path, MAX_MESSAGE_BYTES, "message file"), ""
    except InputError as exc:
        return b"", str(exc)


def _helo_unknown(helo: str | None) -> Callable[[Facts], str]:
    """Why the HELO name cannot be judged: not given, and no reverse DNS name to assume."""
    def unknown(facts: Facts) -> str:
        if helo:
            return ""
        rdns = facts.get(RDNS)
        if rdns is not None and rdns.names:
            return ""
        return ("the HELO name your server says is not known: give it with --helo (it is the "
                "name in your server's EHLO line; without --helo we assume its reverse DNS name, "
                "and " + ("there is none)" if rdns is not None else "that could not be looked up)"))
    return unknown


def helo_name(helo: str | None, facts: Facts, fallback: str = "") -> str:
    """The HELO name the server says: ``--helo``, else its (preferably confirmed) PTR name, else
    ``fallback``."""
    if helo:
        return helo
    rdns = facts.get(RDNS)
    names = (rdns.confirmed_names or list(rdns.names)) if rdns is not None else []
    return names[0] if names else fallback


def plan(sender: MailAddress, recipient: MailAddress, ip: str | None = None, helo: str | None = None,
         dkim_selector: str | None = None, message: str | None = None) -> Plan:
    """The send tree for mail from ``sender`` to ``recipient`` (the CLI's ``check send``)."""
    domain = sender.domain.ascii

    async def observe_ip(ctx: Context) -> PublicIp:
        settings = ctx.settings
        if ip and address_scope(ip, settings.own_networks) is Scope.PUBLIC:
            return PublicIp(ip)
        servers = [settings.resolver] if settings.resolver else system_nameservers()
        found = await detect_public_ip(
            servers, settings.timeout, whoami_name=settings.whoami_name,
            # the echo's lookups are made by a client of its own: into the DNS view with them
            source_ip=settings.source_ip, on_lookup=ctx.record_lookup, slots=ctx.slots,
            clock=ctx.clock)
        return replace(found, given=ip)

    async def observe_rdns(ctx: Context) -> ReverseDns:
        return await reverse_dns(ctx.dns, usable_ip(ctx.facts) or "")

    async def observe_helo(ctx: Context) -> HeloFacts:
        return await helo_facts(ctx.dns, helo_name(helo, ctx.facts), assumed=not helo)

    async def observe_sender_domain(ctx: Context) -> MailRoute:
        return await mail_route(ctx.dns, domain)

    async def observe_blocklists(ctx: Context) -> BlocklistFacts:
        chosen = ctx.settings.dnsbl_zones
        ip_zones = [z for z in chosen if blocklist(z).kind is ListKind.IP] if chosen \
            else [b.zone for b in DEFAULT_IP_LISTS]
        domain_lists = [blocklist(z) for z in chosen if blocklist(z).kind is ListKind.DOMAIN] \
            if chosen else list(DEFAULT_DOMAIN_LISTS)
        tests = {b.zone: b.test_entry for b in domain_lists if b.test_entry}
        address = usable_ip(ctx.facts) or ""
        ip_sweep, domain_sweep = await asyncio.gather(
            blocklist_sweep(ctx.dns, address, ip_zones),
            blocklist_sweep(ctx.dns, domain, [b.zone for b in domain_lists], ListKind.DOMAIN, tests))
        return BlocklistFacts(ip_sweep, domain_sweep)

    async def observe_spf(ctx: Context) -> SpfFacts:
        address = usable_ip(ctx.facts)
        if address is None:  # no address to judge: the record is still linted
            return SpfFacts("", None, await include_tree(ctx.dns, domain),
                            not_evaluated=why_no_ip(ctx.facts))
        limit = ctx.settings.timeout * 3.5
        helo_check = bool(helo) and not is_bare(helo or "") and not (helo or "").startswith("[")
        mailfrom, tree, helo_verdict = await asyncio.gather(
            check_spf(ctx.dns, address, str(sender), helo or domain, limit),
            include_tree(ctx.dns, domain),
            check_spf(ctx.dns, address, f"postmaster@{helo}", helo or "", limit, identity="helo")
            if helo_check else asyncio.sleep(0, None))
        return SpfFacts(address, mailfrom, tree, helo_verdict)

    async def observe_dkim(ctx: Context) -> DkimFacts:
        key = await dkim_key(ctx.dns, dkim_selector, domain) if dkim_selector else None
        if message is None:
            return DkimFacts(domain, key)
        data, problem = await asyncio.to_thread(_read_message, message)
        if problem:
            return DkimFacts(domain, key, unreadable=problem)
        return DkimFacts(domain, key, await verify_message(ctx.dns, data))

    def from_domain() -> str:
        if message is not None:
            data, problem = _read_message(message)
            if not problem:
                return from_domain_of(data) or domain
        return domain

    async def observe_dmarc(ctx: Context) -> DmarcFacts:
        return await dmarc_record(ctx.dns, await asyncio.to_thread(from_domain))

    async def nothing_to_observe(ctx: Context) -> None:
        return None

    def no_dmarc_record(facts: Facts) -> str:
        found = facts[DMARC]
        if found.record is not None and not found.several:
            return ""
        return "there is no single DMARC record to hold this send against (see the DMARC finding)"

    target = {"from": str(sender), "to": str(recipient), "shown": f"{sender} to {recipient}"}
    target.update({k: v for k, v in (("ip", ip), ("helo", helo), ("dkim_selector", dkim_selector),
                                     ("message", message)) if v})
    steps: list[Step[Any]] = [
        Step(IP, "Your server's public IP address",
             "Receivers judge the address your mail comes from. Behind a home router that is the "
             "router's public address, not the one your server knows itself by.",
             observe_ip, judge_ip, budget=2.5),
        Step(SENDER_DOMAIN, f"Your sender domain {sender.domain.text}",
             "Receivers refuse senders whose domain does not exist or cannot take replies.",
             observe_sender_domain, judge_sender_domain, budget=2.5),
        Step(RDNS, "Reverse DNS of your IP",
             "The first thing a receiver does is look up the name behind your address and check "
             "that it points back. No name, or a home-connection name, is a common reason for "
             "refusal.", observe_rdns, judge_rdns, after=(IP,), skip=why_no_ip, budget=2.5),
        Step(HELO, "Your server's HELO name",
             "Your server introduces itself with a name in HELO/EHLO. It must be a real public "
             "name, ideally the same as your reverse DNS name.",
             observe_helo, lambda facts, found: judge_helo(facts, found, domain),
             after=(IP, RDNS), skip=_helo_unknown(helo), budget=1.5),
        Step(DNSBL, "Blocklists",
             "Receivers ask public blocklists about your address. A listing means refusal at "
             "many of them, and each list says why.",
             observe_blocklists, judge_blocklists, after=(IP,), skip=why_no_ip, budget=3.5),
        Step(SPF, "SPF",
             "The SPF record of your domain lists the addresses allowed to send its mail. "
             "Receivers check that yours is among them.",
             observe_spf, judge_spf, after=(IP,), budget=4.5),
        Step(DKIM, "DKIM",
             "DKIM signs each message with a key whose public half is in your DNS, so receivers "
             "can tell the mail really comes from your domain and was not changed.",
             observe_dkim, judge_dkim, budget=3.5),
        Step(DMARC, "DMARC record",
             "DMARC tells receivers what to do with mail that fails SPF and DKIM for your domain.",
             observe_dmarc, judge_dmarc_record, budget=2.5),
        Step(DMARC_ALIGNMENT, "DMARC for this message",
             "DMARC passes only if SPF or DKIM passes for your own domain (the one in From).",
             nothing_to_observe, lambda facts, _none: judge_alignment(facts, domain),
             after=(SPF, DKIM, DMARC), skip=no_dmarc_record, budget=0.5),
        Step(IDENTITY, "Your server's identity at a glance",
             "Address, reverse DNS, HELO name and sender domain side by side, the way a receiver "
             "compares them.",
             nothing_to_observe,
             lambda facts, _none: judge_identity(facts, usable_ip(facts) or "", domain),
             after=(IP, RDNS, HELO, SENDER_DOMAIN, SPF), skip=why_no_ip, budget=0.5),
    ]
    # The delivery rehearsal: it needs the HELO name the server says, which without --helo comes
    # from the PTR; it does not wait for the identity checks otherwise.
    steps += delivery_steps(
        sender, recipient,
        helo_of=lambda facts: helo_name(helo, facts, fallback=f"mail.{domain}"),
        helo_after=() if helo else (RDNS,))
    steps.append(checklist_step(domain, message))  # Gmail's, Yahoo's and Outlook.com's rules
    return Plan("send", target, tuple(steps), reconcile=reconcile_send)
