"""The receive branch: can the world deliver mail to a domain?

The postmaster's questions in order: does the domain exist and have MX records; where do they
point (real host names with public addresses and reverse DNS); then, for each MX host in
preference order, does it answer on port 25 and accept mail for the domain. Lookups that do not
depend on each other (every MX host's addresses, PTRs and forward confirmations) overlap.

The SMTP visits are bounded (see :mod:`mxwizard.diagnosis.plans.visits`): the ``MAX_MX_HOSTS`` most
preferred hosts are visited, a note names the others, and each session ends within its budget.
"""

from __future__ import annotations

from typing import Any

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.inputs import Domain, MailAddress
from mxwizard.diagnosis.facts import MX, MX_HOSTS, SMTP, MailWalk
from mxwizard.diagnosis.plans.transport import transport_steps
from mxwizard.diagnosis.plans.visits import MAX_MX_HOSTS, PROBE_HELO, most_preferred, visit_all
from mxwizard.diagnosis.rules.mx import judge_hosts, judge_mx, reachable_hosts
from mxwizard.diagnosis.rules.smtp import judge_smtp
from mxwizard.diagnosis.tree import Context, Facts, Plan, Step
from mxwizard.probes.dns import Outcome
from mxwizard.probes.mx import MxFacts, MxHost, mx_hosts, mx_records


def _no_hosts(facts: Facts) -> str:
    mx = facts[MX]
    if [t for t in mx.targets if not t.is_null] or mx.fallback_addresses:
        return ""
    if mx.mx.outcome.is_failure or any(lookup.outcome.is_failure for lookup in mx.fallback):
        return f"the MX records of {mx.domain} could not be looked up (see above)"
    if mx.mx.outcome is Outcome.NXDOMAIN:
        return f"the DNS answer for {mx.domain} was 'no such domain' (see above)"
    return f"{mx.domain} names no mail host to look up (see the MX finding)"


def _no_addresses(facts: Facts) -> str:
    hosts = facts.get(MX_HOSTS)
    if hosts is None:
        return "there is no mail host to connect to"
    if reachable_hosts(facts, hosts):
        return ""
    if any(host.addresses for host in hosts):
        return ("no MX host has an address that senders on the internet can reach (see the "
                "private-address finding; use --private-network if the domain lives on a "
                "private network you control)")
    return "no MX host has an address to connect to (see the findings about the MX hosts)"


def judge_walk(facts: Facts, walk: MailWalk) -> list[Finding]:
    """The SMTP rules on the visits, and a note naming the MX hosts that were not visited."""
    findings = judge_smtp(facts, walk)
    hosts = reachable_hosts(facts, facts[MX_HOSTS])
    visited, left_out = most_preferred(hosts, MAX_MX_HOSTS)
    if left_out:
        domain = facts[MX].domain
        shown = [f"MX {h.preference} {h.host}: not tested" for h in left_out[:10]]
        if len(left_out) > len(shown):
            shown.append(f"... and {len(left_out) - len(shown)} more")
        findings.append(Finding(
            "smtp.hosts-left-out", Status.INFO,
            f"Only the {len(visited)} most preferred of {len(hosts)} MX hosts were tested",
            detail=(f"{domain} has {len(hosts)} MX hosts that senders could reach. We talked to "
                    f"the {len(visited)} with the lowest preference values, the ones senders try "
                    "first; senders give up after a few (Postfix and Exim try at most 5), so the "
                    f"other {len(left_out)} are hardly ever used, and were not tested."),
            fix=("Nothing to fix for delivery. If the hosts further down the list matter, "
                 "give them lower preference values, or keep fewer MX records."),
            side=Side.NONE, evidence=tuple(shown)))
    return findings


def plan(domain: Domain, mailbox: MailAddress | None = None) -> Plan:
    """The receive tree for ``domain`` (``mailbox``: also ask whether that address is accepted)."""
    name = domain.ascii

    async def observe_mx(ctx: Context) -> MxFacts:
        return await mx_records(ctx.dns, name)

    async def observe_hosts(ctx: Context) -> list[MxHost]:
        return await mx_hosts(ctx.dns, ctx.facts[MX])

    postmaster = f"postmaster@{name}"
    recipients = [postmaster] + ([str(mailbox)] if mailbox is not None else [])

    async def observe_smtp(ctx: Context) -> MailWalk:
        visits = await visit_all(ctx, reachable_hosts(ctx.facts, ctx.facts[MX_HOSTS]),
                                 helo=PROBE_HELO, sender="",
                                 recipients=recipients)
        return MailWalk(visits, postmaster, str(mailbox) if mailbox is not None else None)

    target = {"domain": name, "shown": domain.shown}
    if mailbox is not None:
        target["mailbox"] = str(mailbox)
    steps: list[Step[Any]] = [
        Step(MX, "MX records",
             "MX records tell every sender on the internet which server takes mail for the "
             "domain. Without them, or with wrong ones, mail cannot find its way.",
             observe_mx, judge_mx, budget=2.5),
        Step(MX_HOSTS, "MX hosts and their addresses",
             "Each MX record must name a real host with a public address; senders connect to "
             "that address. Reverse DNS of the address shows who runs it.",
             observe_hosts, judge_hosts, after=(MX,), skip=_no_hosts, budget=3.5),
        Step(SMTP, "Mail servers (SMTP)",
             "A sender connects to each MX host on port 25 and offers the mail. We do the same, "
             "up to the point where the message itself would be sent, and read every answer.",
             observe_smtp, judge_walk, after=(MX_HOSTS,), skip=_no_addresses, budget=16),
    ]
    steps += transport_steps(name)  # MTA-STS, TLS-RPT, DANE beside the SMTP visits, then TLS
    return Plan("receive", target, tuple(steps))
