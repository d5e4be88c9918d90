"""Rules for who the sending server says it is: its public IP, reverse DNS, HELO name, sender domain.

A receiver sees only an IP address and the names the sender announces. Before it looks at the
message, it asks: is this a home connection (dynamic reverse DNS), does the address have a name
that resolves back to it (FCrDNS), is the HELO name real and does it fit, does the sender's
domain exist. Each rule names the rejection a real receiver gives when the answer is no.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import IP, RDNS
from mxwizard.diagnosis.rules.dns import resolver_broken, unanswered
from mxwizard.diagnosis.rules.mx import judge_mx_hosts
from mxwizard.diagnosis.tree import Facts
from mxwizard.probes.dmarc import organisational_domain
from mxwizard.probes.dns import Outcome
from mxwizard.probes.helo import HeloFacts, is_bare
from mxwizard.probes.mx import MailRoute
from mxwizard.probes.public_ip import PublicIp, Scope, address_scope
from mxwizard.probes.reverse_dns import ReverseDns
from mxwizard.render.dnsview import dig_command

#: Words that mark a reverse DNS name as a home, dynamic or pool address (whole tokens only).
GENERIC_WORDS = frozenset({
    "dsl", "adsl", "vdsl", "xdsl", "sdsl", "dyn", "dynamic", "dynamicip", "dhcp", "pool", "pools",
    "cable", "ppp", "pppoe", "dial", "dialup", "dialin", "broadband", "bb", "cust", "customer",
    "customers", "client", "clients", "dip", "dsl-dynamic", "res", "residential", "ftth", "fttx",
    "fttc", "fttp", "fios", "cpe", "wlan", "wifi", "mobile", "lte", "cgnat", "nat", "user",
    "users", "subscriber", "unassigned", "unknown", "static", "host", "ip",
})
#: Names a HELO must never be: they only mean something inside the sender's own network.
INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "localdomain"})
INTERNAL_SUFFIXES = (".local", ".lan", ".home", ".internal", ".localdomain", ".corp", ".intranet",
                     ".private", ".home.arpa", ".localhost")

HELO_SETTINGS = (
    "Where to set it:\n"
    "  Postfix: myhostname = {name} in /etc/postfix/main.cf (or smtp_helo_name = {name} "
    "for outgoing mail only), then 'postfix reload'\n"
    "  Exim: primary_hostname = {name} (or helo_data = {name} on the remote_smtp transport)\n"
    "  hMailServer: Settings > Protocols > SMTP > Delivery of e-mail > Local host name\n"
    "  Exchange: the FQDN of the Send connector (Set-SendConnector -Fqdn {name})\n"
    "  Sendmail: define(`confDOMAIN_NAME', `{name}') in sendmail.mc")


def usable_ip(facts: Facts) -> str | None:
    """The address receivers will see, if it is known and public (any address on a private
    network the user controls)."""
    found = facts.get(IP)
    if found is None or found.address is None:
        return None
    public = address_scope(found.address, facts.settings.own_networks) is Scope.PUBLIC
    return found.address if public else None


def why_no_ip(facts: Facts) -> str:
    """Why the address-based checks cannot run ("" when they can): the reason of their
    ``not-checked`` findings."""
    if usable_ip(facts) is not None:
        return ""
    found = facts.get(IP)
    if found is not None and found.given:
        scope = address_scope(found.given, facts.settings.own_networks)
        if scope is not Scope.PUBLIC:
            kind = _SCOPE_WORDS[scope][0]
            return (f"{found.given} is {kind} and your public address could not be found out; "
                    "receivers judge the public address (give it with --ip, or use "
                    "--private-network if the mail never leaves a private network you control)")
    return "your server's public address is not known (give it with --ip)"


def _nat_fix(ip: str, detected: str | None) -> str:
    public = detected or "YOUR.PUBLIC.IP"
    return (f"Run the check with your public address: --ip {public}. Receivers judge that address, "
            "so reverse DNS, blocklists and SPF must be right for it, not for "
            f"{ip}. If the ISP gives you an address in 100.64.0.0/10 (carrier-grade NAT) or "
            "changes it often, you cannot run a mail server that sends directly: send through "
            "your ISP's or mail provider's relay (smarthost) on port 587 with a login instead.")


_SCOPE_WORDS = {
    Scope.SHARED: ("a carrier-grade NAT address", "shared by many customers of your ISP"),
    Scope.LOOPBACK: ("a loopback address", "it only means this machine"),
    Scope.LINK_LOCAL: ("a link-local address", "it only works on the local network segment"),
    Scope.RESERVED: ("a reserved address", "it is not used on the internet"),
    Scope.PRIVATE: ("a private address", "it is only valid inside your own network"),
}


def _private_finding(ip: str, scope: Scope, public: str | None, method: str,
                     evidence: tuple[str, ...], echoed: bool) -> Finding:
    """``ip.private``: a fail only when the echo proves there is no address of the server's own
    (carrier-grade NAT); a private address given with --ip is a fact about the LAN, not a fault:
    the checks move to the public address, or say they could not."""
    kind, why = _SCOPE_WORDS[scope]
    status = Status.FAIL if echoed else Status.INFO if public else Status.WARN
    if echoed:
        detail = (f"{method} saw your connection come from {ip}, {kind} ({why}). Your ISP puts "
                  "you behind its own NAT, so there is no address of yours that receivers could "
                  "look up: no reverse DNS of your own, blocklist entries shared with strangers.")
    else:
        seen = (f" We asked {method} what address we come from: {public}. That is the address "
                "receivers see, and the checks below use it.") if public else ""
        unknown = "" if public else (
            " We could not find out that public address, so the checks that need it (reverse "
            "DNS, blocklists, SPF for your address) say 'not checked' below.")
        detail = (f"{ip} is {kind} ({why}). Your server knows itself by this address, but "
                  "receivers on the internet never see it: your router replaces it with its own "
                  "public address on the way out (NAT). Reverse DNS, blocklists and SPF are all "
                  f"checked against that public address.{seen}{unknown} If the mail never leaves "
                  "a private network you control, run the check with --private-network.")
    return Finding("ip.private", status, f"{ip} is {kind}: your server is behind NAT",
                   detail=detail, fix=_nat_fix(ip, public), side=Side.YOU, evidence=evidence)


def judge_ip(facts: Facts, found: PublicIp) -> list[Finding]:
    """ip.private (behind NAT), ip.unknown, or ip.ok."""
    own_networks = facts.settings.own_networks
    evidence = tuple(dig_command(lk) + f"  -> {lk.outcome.value} {' '.join(map(str, lk.values()))}"
                     for lk in found.lookups)

    def scope(address: str) -> Scope:
        return address_scope(address, own_networks)

    findings: list[Finding] = []
    public = found.detected if found.detected and scope(found.detected) is Scope.PUBLIC else None
    if found.given and scope(found.given) is not Scope.PUBLIC:
        findings.append(_private_finding(found.given, scope(found.given), public, found.method,
                                         evidence, echoed=False))
    if found.detected and not public:
        findings.append(_private_finding(found.detected, scope(found.detected), None,
                                         found.method, evidence, echoed=True))
    address = found.address
    if address is None or scope(address) is not Scope.PUBLIC:
        if not findings:
            reason = f": {found.problem}" if found.problem else ""
            findings.append(Finding(
                "ip.unknown", Status.ERROR, "Could not find out your server's public IP address",
                detail=f"The sending checks need the address receivers see. We could not detect it{reason}.",
                fix=("Give it with --ip. To find it by hand, run on the mail server: "
                     "dig +short myip.opendns.com @resolver1.opendns.com"),
                side=Side.NONE, evidence=evidence))
        return findings
    if not findings:
        how = "as given with --ip" if found.given else f"detected through {found.method}"
        findings.append(Finding(
            "ip.ok", Status.PASS, f"Your server's public address is {address}",
            detail=f"The address receivers will see ({how}).", evidence=evidence))
    if found.disagreement:
        findings.append(Finding(
            "ip.several-exits", Status.INFO, "Two echo services saw different addresses",
            detail=(f"They answered {' and '.join(found.disagreement)}: your network leaves the "
                    "internet through more than one address. Every one of them needs reverse DNS "
                    "and an SPF entry, or mail from your server will fail now and then."),
            side=Side.YOU, evidence=evidence))
    return findings


def looks_generic(name: str, ip: str) -> str:
    """Why ``name`` looks like an ISP's generic name for ``ip`` ("" when it does not)."""
    name = name.lower().rstrip(".")
    org = organisational_domain(name)
    host = name[: -len(org)].rstrip(".") if name.endswith(org) and name != org else ""
    if not host:
        return ""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        octets = str(address).split(".")
        digits = re.sub(r"[^0-9]+", ".", host)
        joined = ".".join(octets)
        if joined in digits or ".".join(reversed(octets)) in digits or \
                "".join(f"{int(o):03d}" for o in octets) in host or \
                f"{int(address):08x}" in host:
            return "it contains the IP address's digits"
    else:
        if address.exploded.replace(":", "")[-8:] in host.replace("-", "").replace(".", ""):
            return "it contains the IP address's digits"
    tokens = set(re.split(r"[.\-_0-9]+", host))
    words = sorted(tokens & GENERIC_WORDS)
    if words:
        return f"it contains '{words[0]}', a word ISPs use for customer connections"
    return ""


def _rdns_evidence(found: ReverseDns) -> tuple[str, ...]:
    out = [dig_command(found.ptr), *(r.zone_line() for r in found.ptr.answer)]
    for name, lookup in found.forward.items():
        values = " ".join(map(str, lookup.values())) or lookup.outcome.value
        out.append(f"{name} {lookup.qtype} -> {values}")
    return tuple(out)


def judge_rdns(facts: Facts, found: ReverseDns) -> list[Finding]:
    """rdns.missing, rdns.fcrdns-fail, rdns.generic or rdns.ok for the sending IP."""
    problem = unanswered(found.ptr, f"the reverse DNS (PTR) of {found.ip}")
    if problem:
        return [problem]
    evidence = _rdns_evidence(found)
    ask_isp = (f"Reverse DNS belongs to whoever owns the address, not to your domain's DNS: ask your "
               f"ISP or hosting provider (often a field in its control panel) to set the PTR of "
               f"{found.ip} to your mail server's name, e.g. mail.example.com, and make sure that "
               f"name has an A record pointing back to {found.ip}.")
    if not found.names:
        return [Finding(
            "rdns.missing", Status.FAIL, f"{found.ip} has no reverse DNS (PTR record)",
            detail=("Receivers look up the name behind the connecting address first. Without "
                    "one, many refuse the connection outright: Postfix answers '450 4.7.25 Client "
                    "host rejected: cannot find your hostname', Gmail '550-5.7.25 The IP address "
                    "sending this message does not have a PTR record setup'."),
            fix=ask_isp, side=Side.YOU, evidence=evidence)]
    names = ", ".join(visible(n, 200) for n in found.names)
    if not found.fcrdns:
        unconfirmed = found.names[0]
        back = " ".join(map(str, found.forward[unconfirmed].values())) or "nothing"
        return [Finding(
            "rdns.fcrdns-fail", Status.FAIL,
            f"The reverse DNS name of {found.ip} does not point back to it",
            detail=(f"{found.ip} says it is {names}, but {visible(unconfirmed, 200)} resolves to "
                    f"{visible(back, 200)}. Receivers check both directions (forward-confirmed "
                    "reverse DNS) because anyone can put any name in a PTR record; a name that "
                    "does not confirm counts as no name: Postfix answers '450 4.7.25 Client host "
                    "rejected: cannot find your hostname', Gmail '550-5.7.25'."),
            fix=(f"Add an A record {visible(unconfirmed, 200)}. IN A {found.ip} in that name's DNS "
                 f"zone, or have the PTR changed to a name that already points to {found.ip}."),
            side=Side.YOU, evidence=evidence)]
    name = found.confirmed_names[0]
    if "." not in name.strip(".") or is_internal_name(name):
        return [Finding(
            "rdns.internal", Status.WARN,
            f"The reverse DNS name of {found.ip} is '{visible(name, 200)}', an internal name",
            detail=(f"'{visible(name, 200)}' only means something inside one machine or network, "
                    "so receivers cannot tell who sends from this address, and a HELO name must "
                    "not be copied from it."),
            fix=ask_isp, side=Side.YOU, evidence=evidence)]
    generic = looks_generic(name, found.ip)
    if generic:
        return [Finding(
            "rdns.generic", Status.WARN, f"The reverse DNS name of {found.ip} looks like a home connection",
            detail=(f"{visible(name, 200)} looks like a name an ISP gives to every customer "
                    f"address ({generic}). Big receivers treat such addresses as dynamic or "
                    "residential and refuse direct mail from them or file it as spam (Outlook, "
                    "Gmail '550-5.7.1 ... not allowed to send directly', Spamhaus PBL)."),
            fix=(f"Ask your ISP to set the PTR of {found.ip} to your own mail name (e.g. "
                 "mail.example.com); many do that only for static business addresses. If they "
                 "will not, send through their relay (smarthost) instead."),
            side=Side.YOU, evidence=evidence)]
    return [Finding(
        "rdns.ok", Status.PASS, f"{found.ip} has reverse DNS {visible(name, 200)}, confirmed",
        detail="The PTR name resolves back to the address (forward-confirmed reverse DNS).",
        evidence=evidence)]


def is_internal_name(name: str, own_networks: tuple[str, ...] = ()) -> bool:
    """True for names and address literals that only mean something inside a private network."""
    lowered = name.lower().rstrip(".")
    if lowered in INTERNAL_NAMES or lowered.endswith(INTERNAL_SUFFIXES):
        return True
    if lowered.startswith("["):
        inner = lowered.strip("[]").removeprefix("ipv6:")
        try:
            return address_scope(inner, own_networks) is not Scope.PUBLIC
        except ValueError:
            return False
    return False


def suggested_helo(facts: Facts, sender_domain: str) -> str:
    """The name to advise: the confirmed, non-generic, public PTR name, else
    mail.SENDER-DOMAIN (never ``localhost``: a PTR that says so is no name to give the world)."""
    rdns = facts.get(RDNS)
    if rdns is not None:
        for name in rdns.confirmed_names:
            if "." in name.strip(".") and not is_internal_name(name) \
                    and not looks_generic(name, rdns.ip):
                return name
    return f"mail.{sender_domain}"


def judge_helo(facts: Facts, found: HeloFacts, sender_domain: str) -> list[Finding]:
    """helo.internal, helo.not-fqdn, helo.unresolvable, helo.mismatch or helo.ok."""
    name = found.name
    shown = visible(name, 200)
    assumed = (" (You did not give --helo, so we assumed your server uses its reverse DNS name; "
               "give --helo NAME to check the name it really says.)") if found.assumed else ""
    advice = suggested_helo(facts, sender_domain)
    settings = HELO_SETTINGS.format(name=advice)
    ip = usable_ip(facts) if IP in facts else None
    if is_internal_name(name, facts.settings.own_networks):
        return [Finding(
            "helo.internal", Status.FAIL, f"Your server introduces itself as '{shown}', an internal name",
            detail=(f"'{shown}' only means something inside your own network. Receivers see a "
                    "machine that does not know its public name, which is what infected PCs look "
                    "like; many refuse it (Postfix '450 4.7.1 Helo command rejected: Host not "
                    f"found', Gmail '501 5.5.4'), others score it as spam.{assumed}"),
            fix=f"Set the HELO name to {advice}, a public name that resolves to your IP.\n{settings}",
            side=Side.YOU, evidence=(f"EHLO {shown}",))]
    if found.literal is not None:
        if ip and found.literal != ip:
            return [Finding(
                "helo.mismatch", Status.WARN, f"Your server says HELO {shown}, not its own address",
                detail=f"The address literal in HELO is not the address receivers see ({ip}).{assumed}",
                fix=f"Use a name instead: {advice}.\n{settings}", side=Side.YOU)]
        return [Finding(
            "helo.literal", Status.WARN, f"Your server says HELO with an address ({shown}), not a name",
            detail=("The standard allows an address literal, but it is what spam software does, "
                    "and many receivers score it as spam."),
            fix=f"Set a proper name: {advice}.\n{settings}", side=Side.YOU)]
    if is_bare(name):
        return [Finding(
            "helo.not-fqdn", Status.FAIL, f"Your server's HELO name '{shown}' is not a full domain name",
            detail=("HELO must be a fully qualified name such as mail.example.com. Receivers "
                    "that enforce it refuse the mail: Postfix with reject_non_fqdn_helo_hostname "
                    f"(common, though not its default) answers '504 5.5.2 <{shown}>: Helo command "
                    f"rejected: need fully-qualified hostname'; Gmail refuses such names too."
                    f"{assumed}"),
            fix=f"Set the HELO name to {advice}.\n{settings}", side=Side.YOU,
            evidence=(f"EHLO {shown}",))]
    for lookup in found.lookups:
        if lookup.outcome.is_failure:
            problem = unanswered(lookup, f"the address of the HELO name {name}")
            if problem:
                return [problem]
    evidence = tuple(f"{dig_command(lk)} -> {' '.join(map(str, lk.values())) or lk.outcome.value}"
                     for lk in found.lookups)
    if not found.addresses:
        if broken := resolver_broken(facts, *found.lookups):
            return [broken]
        why = "does not exist" if any(lk.outcome is Outcome.NXDOMAIN for lk in found.lookups) \
            else "has no address records"
        return [Finding(
            "helo.unresolvable", Status.FAIL, f"Your server's HELO name '{shown}' does not resolve",
            detail=(f"'{shown}' {why} in DNS. Receivers that check HELO (Postfix "
                    "reject_unknown_helo_hostname: '450 4.7.1 Helo command rejected: Host not "
                    f"found') turn the mail away, and spam filters count it against you.{assumed}"),
            fix=(f"Either publish an A record '{shown}. IN A {ip or 'YOUR.PUBLIC.IP'}' or set the "
                 f"HELO name to {advice}.\n{settings}"),
            side=Side.YOU, evidence=evidence)]
    rdns = facts.get(RDNS)
    ptr_names = [n.lower() for n in rdns.names] if rdns is not None else []
    if ip and ip not in found.addresses and name.lower() not in ptr_names:
        return [Finding(
            "helo.mismatch", Status.WARN, f"The HELO name '{shown}' does not match your address",
            detail=(f"'{shown}' resolves to {', '.join(found.addresses)}, not to {ip}, and it is "
                    "not your reverse DNS name either. The standard says receivers should not "
                    "refuse mail for this alone, but spam filters count it, and some receivers do "
                    f"refuse.{assumed}"),
            fix=f"Use a name that resolves to {ip}, ideally your PTR name: {advice}.\n{settings}",
            side=Side.YOU, evidence=evidence)]
    return [Finding(
        "helo.ok", Status.PASS, f"HELO name {shown} resolves and fits your address",
        detail=f"It resolves to {', '.join(found.addresses)}.{assumed}", evidence=evidence)]


def judge_sender_domain(facts: Facts, route: MailRoute) -> list[Finding]:
    """sender-domain.nxdomain, sender-domain.no-mx (or null MX), its MX hosts judged by the
    receive check's own rules, or sender-domain.ok."""
    found = route.mx
    domain = found.domain
    problem = unanswered(found.mx, f"the MX records of {domain}") or resolver_broken(facts, found.mx)
    if problem:
        return [problem]
    evidence = tuple(r.zone_line() for r in found.mx.answer) or (f"{domain} MX: {found.mx.outcome.value}",)
    reject = ("Receivers check that the sender's domain exists and can take replies; Postfix "
              "(reject_unknown_sender_domain) answers '450 4.1.8 Sender address rejected: Domain "
              "not found' or '553 5.1.8'.")
    if found.mx.outcome is Outcome.NXDOMAIN:
        return [Finding(
            "sender-domain.nxdomain", Status.FAIL, f"Your sender domain {domain} does not exist",
            detail=f"DNS has no name {domain} at all. {reject}",
            fix=("Send with an address in a domain you own, or check the domain's registration "
                 "and delegation."), side=Side.YOU, evidence=evidence)]
    if any(t.is_null for t in found.targets):
        return [Finding(
            "sender-domain.no-mx", Status.FAIL,
            f"Your sender domain {domain} says it takes no mail (null MX)",
            detail=("A null MX (RFC 7505) declares that the domain never receives mail, so replies "
                    "and bounces to your address are impossible; receivers refuse such senders "
                    "with '550 5.7.27'."),
            fix=f"Remove the 'MX 0 .' record from {domain} and publish a real MX.",
            side=Side.YOU, evidence=evidence)]
    if not found.targets and not found.fallback_addresses:
        return [Finding(
            "sender-domain.no-mx", Status.FAIL, f"Your sender domain {domain} cannot receive mail",
            detail=f"{domain} has no MX record and no address, so nobody can reply to you. {reject}",
            fix=f"Publish an MX record for {domain}:\n  {domain}. 3600 IN MX 10 mail.{domain}.",
            side=Side.YOU, evidence=evidence)]
    consequence = (" For your sender domain this means replies and bounces cannot reach you, and "
                   "receivers that check whether the sender's domain can take mail refuse yours.")
    hosts = [replace(f, id=f"sender-domain.{f.id}", detail=f.detail + consequence)
             if f.status in (Status.FAIL, Status.WARN) else f
             for f in judge_mx_hosts(facts, domain, route.hosts)
             if f.status is not Status.PASS and f.status is not Status.INFO]
    if any(f.status in (Status.FAIL, Status.ERROR) for f in hosts):
        return hosts
    return hosts + [Finding("sender-domain.ok", Status.PASS,
                            f"Your sender domain {domain} can receive replies", evidence=evidence)]
