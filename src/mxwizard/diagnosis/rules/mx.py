"""Rules for the first half of the receive branch: does the world know where to deliver mail?

They judge the MX records (none, null, implicit fallback, single) and each MX host (IP literal,
CNAME, no address, private address, reverse DNS). Pure functions of what ``probes.mx`` observed.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.diagnosis.facts import MX
from mxwizard.diagnosis.rules.dns import resolver_broken, unanswered
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.dns import Outcome
from mxwizard.probes.mx import MxFacts, MxHost
from mxwizard.probes.public_ip import Scope, address_scope

#: A documentation address (RFC 5737) used in example records; the fix says to replace it.
EXAMPLE_IP = "203.0.113.5"


def _records_fix(domain: str, preference: int = 10, ip: str = EXAMPLE_IP) -> str:
    placeholder = f"\n(Use your mail server's public IP address instead of {EXAMPLE_IP}.)" \
        if ip == EXAMPLE_IP else ""
    return (f"  {domain}. 3600 IN MX {preference} mail.{domain}.\n"
            f"  mail.{domain}. 3600 IN A {ip}{placeholder}")


def judge_mx(facts: Facts, mx: MxFacts) -> list[Finding]:
    """MX records: exist, null, missing (with or without the address fallback), single."""
    domain = mx.domain
    problem = unanswered(mx.mx, f"the MX records of {domain}") or resolver_broken(facts, mx.mx)
    if problem:
        return [problem]
    evidence = tuple(r.zone_line() for r in mx.mx.answer) or (f"{domain} MX: {mx.mx.outcome.value}",)
    if mx.mx.outcome is Outcome.NXDOMAIN:
        return [Finding(
            "domain.nxdomain", Status.FAIL, f"The domain {domain} does not exist",
            detail=(f"DNS says there is no such name as {domain} (NXDOMAIN). Nobody can send mail "
                    "to it: senders bounce the message at once with 'host unknown'."),
            fix=("Check the spelling. If it is your domain, check that its registration has not "
                 "expired and that it is delegated to your DNS servers (whois and the NS records "
                 "at the registrar)."),
            side=Side.YOU, evidence=evidence)]
    if mx.mx.outcome is Outcome.NODATA:
        failed = [lookup for lookup in mx.fallback if lookup.outcome.is_failure]
        if failed and not mx.fallback_addresses:
            return [unanswered(failed[0], f"the address of {domain}") or Finding(
                "dns.error", Status.ERROR, "DNS lookup failed", side=Side.NETWORK)]
        addresses = ", ".join(mx.fallback_addresses)
        if mx.fallback_addresses:
            return [Finding(
                "mx.none", Status.WARN, f"{domain} has no MX records; senders use its address",
                detail=(f"Without MX records, senders fall back to the domain's own address "
                        f"({addresses}) as if it were the mail server. That works, but only if the "
                        "web host and the mail server are the same machine, and many admins forget "
                        "it when they move the web site. Publish an MX record to say clearly where "
                        "mail goes."),
                fix=_records_fix(domain, ip=mx.fallback_addresses[0]),
                side=Side.YOU, evidence=evidence + tuple(
                    r.zone_line() for lookup in mx.fallback for r in lookup.answer))]
        return [Finding(
            "mx.none-no-address", Status.FAIL, f"{domain} has no MX records and no address",
            detail=("The domain exists but says nothing about mail: no MX record, and no A or AAAA "
                    "record to fall back on. Senders cannot find any server to deliver to and "
                    "bounce the message."),
            fix="Publish an MX record and the address of your mail server:\n" + _records_fix(domain),
            side=Side.YOU, evidence=evidence)]
    targets = mx.targets
    if any(t.is_null for t in targets):
        if len(targets) == 1:
            return [Finding(
                "mx.null", Status.FAIL, f"{domain} declares that it accepts no mail (null MX)",
                detail=("Its only MX record is '0 .', the null MX of RFC 7505: a promise that this "
                        "domain never receives mail. Senders bounce at once (5.1.10)."),
                fix=("If the domain should receive mail, replace the null MX with a real one:\n"
                     + _records_fix(domain)),
                side=Side.YOU, evidence=evidence)]
        return [Finding(
            "mx.null", Status.WARN, f"{domain} mixes a null MX with real MX records",
            detail=("A null MX ('0 .') must be the only MX record; mixed with others, senders may "
                    "treat the domain as not accepting mail."),
            fix="Delete the '0 .' MX record.", side=Side.YOU, evidence=evidence)]
    listing = ", ".join(f"{t.host} (preference {t.preference})" for t in targets)
    out = [Finding("mx.ok", Status.PASS, f"{domain} has {len(targets)} MX record"
                   f"{'s' if len(targets) > 1 else ''}", detail=f"Mail goes to {listing}.",
                   side=Side.NONE, evidence=evidence)]
    if len(targets) == 1:
        out.append(Finding(
            "mx.single", Status.INFO, "Only one MX host",
            detail=("If that one server is down, senders queue the mail and retry for a few days, "
                    "so short outages lose nothing. A second MX only helps if it really accepts "
                    "mail for the domain."),
            side=Side.NONE, evidence=evidence))
    return out


def _is_public(ip: str, own_networks: tuple[str, ...]) -> bool:
    return address_scope(ip, own_networks) is Scope.PUBLIC


def reachable_hosts(facts: Facts, hosts: list[MxHost]) -> list[MxHost]:
    """The hosts a sender on the internet could connect to: a host name (not an IP literal)
    with at least one public address, or one of the user's own network (``--private-network``).
    SMTP probes connect to these only: never to a private address that is not the user's."""
    own = facts.settings.own_networks
    return [h for h in hosts if not h.ip_literal
            and any(_is_public(ip, own) for ip in h.addresses)]


def judge_hosts(facts: Facts, hosts: list[MxHost]) -> list[Finding]:
    """Each MX host of the receive check's domain (the ``mx`` step's facts)."""
    return judge_mx_hosts(facts, facts[MX].domain, hosts)


def judge_mx_hosts(facts: Facts, domain: str, hosts: list[MxHost]) -> list[Finding]:
    """Each MX host: a real name with public addresses, not a CNAME, and its reverse DNS.

    The same rules judge the receive check's domain and, in the send check, the sender's and
    the recipient's domains: a domain whose MX hosts do not resolve is broken whoever asks."""
    out: list[Finding] = []
    usable = reachable_hosts(facts, hosts)  # a private address nobody can reach is no fallback
    for host in hosts:
        out.extend(_judge_host(facts, domain, host, alone=not usable))
    return out


def _judge_host(facts: Facts, domain: str, host: MxHost, alone: bool) -> list[Finding]:
    name = host.host
    literal = host.ip_literal
    if literal:
        return [Finding(
            "mx.ip-literal", Status.FAIL, f"The MX record names an IP address ({literal})",
            detail=("An MX record must name a host, not an address. Senders look up '"
                    f"{name}' as a host name, find nothing, and cannot deliver."),
            fix=("Give the server a name with an A record and point the MX at the name:\n"
                 + _records_fix(domain, host.preference, literal)),
            side=Side.YOU, evidence=(f"{domain}. IN MX {host.preference} {name}.",))]
    out: list[Finding] = []
    if host.cname_chain:
        out.append(Finding(
            "mx.cname", Status.WARN, f"The MX host {name} is an alias (CNAME)",
            detail=(f"{name} is a CNAME for {host.cname_chain[-1]}. RFC 2181 says an MX must "
                    "name the host directly; most senders follow the alias anyway, some refuse."),
            fix=(f"Point the MX at the real name:\n  {domain}. 3600 IN MX {host.preference} "
                 f"{host.cname_chain[-1]}."),
            side=Side.YOU,
            evidence=tuple(r.zone_line() for lookup in host.lookups for r in lookup.answer)))
    if not host.addresses:
        failed = host.failed_lookups
        if failed:
            return out + [unanswered(failed[0], f"the address of the MX host {name}") or Finding(
                "dns.error", Status.ERROR, "DNS lookup failed", side=Side.NETWORK)]
        broken = resolver_broken(facts, *host.lookups)
        if broken:
            return out + [broken]
        return out + [Finding(
            "mx.dangling", Status.FAIL if alone else Status.WARN,
            f"The MX host {name} has no address",
            detail=(f"The MX record points at {name}, but that name has no A or AAAA record"
                    + (" (it does not exist)" if any(lk.outcome is Outcome.NXDOMAIN
                                                     for lk in host.lookups) else "")
                    + ". Senders cannot connect to it"
                    + (", and there is no other MX, so mail cannot be delivered." if alone
                       else "; they skip to the next MX, which costs time.")),
            fix=(f"Publish the address of {name}, or point the MX at a host that has one:\n"
                 f"  {name}. 3600 IN A {EXAMPLE_IP}\n"
                 f"(Use your mail server's public IP address instead of {EXAMPLE_IP}.)"),
            side=Side.YOU,
            evidence=tuple(f"{lk.qname} {lk.qtype}: {lk.outcome.value}" for lk in host.lookups))]
    private = [ip for ip in host.addresses if not _is_public(ip, facts.settings.own_networks)]
    if private:
        all_private = len(private) == len(host.addresses)
        out.append(Finding(
            "mx.private-address", Status.FAIL if all_private and alone else Status.WARN,
            f"The MX host {name} has a private address ({', '.join(private)})",
            detail=("Addresses like 10.x, 172.16-31.x, 192.168.x, 127.x or 100.64.x only exist "
                    "inside a local network. Senders on the internet cannot reach them. This "
                    "usually means the internal address of a server behind a router was "
                    "published instead of the public one."),
            fix=(f"Publish the public address and forward port 25 on the router to the server:\n"
                 f"  {name}. 3600 IN A {EXAMPLE_IP}\n"
                 f"(Use your public IP address instead of {EXAMPLE_IP}.)\n"
                 "If the domain only serves a private network you control (an intranet or a "
                 "classroom), run the check with --private-network."),
            side=Side.YOU, evidence=tuple(
                r.zone_line() for lookup in host.lookups for r in lookup.answer)))
    if not private:
        kind = "implicit MX (the domain itself)" if host.implicit else \
            f"preference {host.preference}"
        out.append(Finding(
            "mx.host-ok", Status.PASS, f"{name} ({kind}) has address {', '.join(host.addresses)}",
            side=Side.NONE))
    out.extend(_judge_reverse(host))
    return out


def _judge_reverse(host: MxHost) -> list[Finding]:
    out: list[Finding] = []
    for rev in host.reverse:
        problem = unanswered(rev.ptr, f"the reverse DNS of {rev.ip}")
        if problem:
            out.append(problem)
        elif not rev.names:
            out.append(Finding(
                "mx.rdns-missing", Status.INFO, f"{rev.ip} ({host.host}) has no reverse DNS",
                detail=("Receiving does not need reverse DNS, but this server probably sends mail "
                        "too, and many receivers refuse mail from an address without a PTR name."),
                fix=(f"Ask whoever owns {rev.ip} (your ISP or hosting provider) to set its PTR "
                     f"record to {host.host}."),
                side=Side.YOU, evidence=(f"{rev.ptr.qname} PTR: {rev.ptr.outcome.value}",)))
        elif not rev.fcrdns:
            out.append(Finding(
                "mx.rdns-mismatch", Status.INFO,
                f"Reverse DNS of {rev.ip} ({', '.join(rev.names)}) does not point back to it",
                detail=("The PTR name does not resolve to the same address. It does not stop "
                        "mail from arriving, but receivers often refuse mail sent from such an "
                        "address."),
                fix=f"Set the PTR of {rev.ip} to {host.host}, and make {host.host} resolve to {rev.ip}.",
                side=Side.YOU, evidence=tuple(r.zone_line() for r in rev.ptr.answer)))
        else:
            out.append(Finding(
                "mx.rdns-ok", Status.PASS, f"Reverse DNS of {rev.ip} is {rev.confirmed_names[0]}",
                side=Side.NONE))
    return out
