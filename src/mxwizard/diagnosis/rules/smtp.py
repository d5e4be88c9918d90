"""Rules for the second half of the receive branch: do the MX hosts take mail for the domain?

They read the visits in preference order, the way a sending server experiences them: which host
answers, how it greets, whether it offers TLS, and what it says to RCPT TO — and from the whole
walk: whether any host is reachable, whether the backup had to step in, whether the domain is
missing from a server's accepted domains.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import MX, MX_HOSTS, MailWalk, Visit, family
from mxwizard.diagnosis.rules.vantage import probe_refused, refusal_of_probe
from mxwizard.diagnosis.tree import Facts
from mxwizard.knowledge.bounces import GREYLISTED, RELAY_DENIED, USER_UNKNOWN
from mxwizard.knowledge.replies import meaning
from mxwizard.probes.mx import MxHost
from mxwizard.probes.smtp.session import ConnectOutcome, Reply, SessionFacts
from mxwizard.probes.smtp.tls import describe

ACCEPTED_DOMAINS_FIX = (
    "Add {domain} to the domains the server accepts mail for, then reload it:\n"
    "  Postfix:    virtual_mailbox_domains (or mydestination) in main.cf\n"
    "  Exim:       domainlist local_domains = ... : {domain}\n"
    "  hMailServer: Domains > Add > {domain}\n"
    "  Exchange:   Mail flow > Accepted domains > add {domain} (Authoritative)"
)


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


def _port(visit: Visit) -> int:
    return visit.first.port


def _evidence(session: SessionFacts, limit: int = 12) -> tuple[str, ...]:
    lines = [f"{line.dir.arrow} {visible(line.text, 300)}" for line in session.lines
             if line.dir.value in "CS"]
    return tuple(lines[-limit:])


def _connection(visit: Visit, others_work: bool) -> Finding | None:
    """A finding when the host could not be talked to at all."""
    session = visit.first
    where = f"{visit.host} [{visit.ip}]:{_port(visit)}"
    status = Status.WARN if others_work else Status.FAIL
    if session.outcome is ConnectOutcome.REFUSED:
        return Finding(
            "smtp.connect-refused", status, f"{visit.host} refuses connections on port {_port(visit)}",
            detail=(f"The machine at {visit.ip} answered, but nothing accepts connections on port "
                    f"{_port(visit)}: the mail server is not running, listens only on another "
                    "address, or a firewall rejects the connection."
                    + (" Senders move on to the next MX." if others_work else "")),
            fix=("Start the mail server and make it listen on all addresses (Postfix: "
                 "inet_interfaces = all); open port 25 in the firewall and forward it on the "
                 "router to the server."),
            side=Side.YOU, evidence=(f"connect {where}: refused",))
    if session.outcome in (ConnectOutcome.TIMEOUT, ConnectOutcome.UNREACHABLE):
        answered = [f"port {p} {a}" for p, a in visit.other_ports.items() if a in ("connected", "refused")]
        filtered = (f" The host does answer on other ports ({', '.join(answered)}), so something "
                    f"between us filters port {_port(visit)}.") if answered else ""
        return Finding(
            "smtp.connect-timeout", status, f"{visit.host} does not answer on port {_port(visit)}",
            detail=(f"Connections to {where} get no answer at all: the host is down, a firewall "
                    f"silently drops port {_port(visit)}, or a router does not forward it."
                    + filtered),
            fix=("Check that the server is up and that port 25 is open and forwarded to it. "
                 "If you are testing from a home connection, your own ISP may block outbound "
                 "port 25: try the check from another network."),
            side=Side.YOU, evidence=(f"connect {where}: {session.outcome.value}",)
            + tuple(f"port {p}: {a}" for p, a in visit.other_ports.items()))
    if session.outcome is not ConnectOutcome.GREETED:
        return Finding(
            "smtp.protocol-error", status, f"{visit.host} did not greet properly",
            detail=(f"The connection to {where} opened, but {session.error or session.outcome.value}. "
                    "A mail server greets every client with a 220 line first."),
            fix="Check the mail server's logs; a proxy or a broken service may sit on port 25.",
            side=Side.YOU, evidence=_evidence(session))
    return None


def _banner_name(reply: Reply) -> str:
    words = reply.lines[0].split() if reply.lines and reply.lines[0] else []
    return visible(words[0].rstrip(".").lower(), 100) if words else ""


def _greeting(visit: Visit, host: MxHost | None, others_work: bool, domain: str,
              source_ip: str | None) -> list[Finding]:
    banner = visit.first.banner
    if banner is None:
        return []
    aimed_at_us = refusal_of_probe(banner)
    if aimed_at_us is not None:
        return [probe_refused(visit.host, banner, aimed_at_us, source_ip,
                              f"whether it accepts mail for {domain}", _evidence(visit.first, 3))]
    if banner.permanent:
        info = meaning(banner.code, banner.text)
        return [Finding(
            "smtp.banner-reject", Status.WARN if others_work else Status.FAIL,
            f"{visit.host} refuses everyone in its greeting ({banner.code})",
            detail=(f"It greets with {banner.code} instead of 220: it will not take mail from this "
                    f"client. {info.explanation}"),
            fix=("If this is your server, look at why it refuses (its logs): an overloaded "
                 "server, a blocklist or country filter that hits this client, or a service "
                 "deliberately closed. Greet with 220 for mail you want to receive."),
            side=Side.YOU, evidence=_evidence(visit.first, 3))]
    if banner.transient:
        return [Finding(
            "smtp.tempfail", Status.WARN, f"{visit.host} is busy ({banner.code} in its greeting)",
            detail=meaning(banner.code, banner.text).explanation,
            fix="Senders retry later. If it persists, check the server's load and connection limits.",
            side=Side.YOU, evidence=_evidence(visit.first, 3))]
    said = _banner_name(banner)
    names = {visit.host.lower()} | {n.lower() for rev in (host.reverse if host else ())
                                    if rev.ip == visit.ip for n in rev.names}
    if said and said not in names:
        return [Finding(
            "smtp.banner-mismatch", Status.INFO,
            f"{visit.host} greets as {said}",
            detail=(f"The greeting names '{said}', which is neither the MX name nor the reverse DNS "
                    f"of {visit.ip} ({', '.join(sorted(names))}). Mail still arrives; some strict "
                    "senders and spam filters count the mismatch against the server."),
            fix=(f"Set the server's own name to {visit.host} (Postfix: myhostname; Exim: "
                 "primary_hostname; Exchange: the receive connector's FQDN)."),
            side=Side.YOU, evidence=_evidence(visit.first, 1))]
    return []


def _tls(visit: Visit) -> list[Finding]:
    session = visit.first
    if session.outcome is not ConnectOutcome.GREETED or session.ehlo is None or \
            (session.banner is not None and session.banner.code >= 400):
        return []
    if not session.starttls_offered:
        return [Finding(
            "smtp.starttls-missing", Status.WARN, f"{visit.host} does not offer STARTTLS",
            detail=("Mail to this server crosses the internet unencrypted, and big providers "
                    "mark such mail or refuse to send it when they require TLS."),
            fix=("Enable STARTTLS with a certificate for the server's name, e.g. Postfix:\n"
                 "  smtpd_tls_cert_file = /etc/ssl/certs/mail.pem\n"
                 "  smtpd_tls_key_file = /etc/ssl/private/mail.key\n"
                 "  smtpd_tls_security_level = may"),
            side=Side.YOU, evidence=_evidence(session, 8))]
    if session.tls is None:
        return [Finding(
            "smtp.tls-failed", Status.WARN, f"STARTTLS with {visit.host} failed",
            detail=(f"The server offers STARTTLS, but the encrypted session could not be set up "
                    f"({session.tls_error or 'no reason given'}). Senders then deliver in clear "
                    "or, if they insist on TLS, not at all."),
            fix="Check the server's certificate, key and TLS settings (its logs name the error).",
            side=Side.YOU, evidence=_evidence(session, 6))]
    # The certificate itself (chain, name, dates, key) is judged with the domain's MTA-STS and
    # DANE records, which decide who refuses it: diagnosis/rules/transport.py.
    return [Finding("smtp.tls-ok", Status.PASS, f"{visit.host} offers STARTTLS",
                    detail=describe(session.tls), side=Side.NONE)]


def _rcpt(visit: Visit, walk: MailWalk, domain: str, primary: bool,
          source_ip: str | None) -> list[Finding]:
    session = visit.final
    reply = decisive_reply(session)
    if reply is None or (session.banner is not None and session.banner.code >= 400):
        return []
    info = meaning(reply.code, reply.text)
    evidence = _evidence(session, 6)
    aimed_at_us = refusal_of_probe(reply)
    if aimed_at_us is not None:
        return [probe_refused(visit.host, reply, aimed_at_us, source_ip,
                              f"whether it accepts mail for {domain}", evidence)]
    out: list[Finding] = []
    if visit.retry is not None:
        still = reply.transient and info.bounce_class == GREYLISTED
        out.append(Finding(
            "smtp.greylisted", Status.INFO, f"{visit.host} greylists new senders",
            detail=("It answered 'try again later' (greylisting) to our first attempt; real "
                    "senders retry after a few minutes and then get through. "
                    + ("It was still deferring when we retried a few seconds later, which is "
                       "normal for greylisting." if still else
                       "Our retry a few seconds later was accepted.")
                    + " Only the first message from a new sender is delayed."),
            fix="Nothing to fix. To avoid the delay for known partners, whitelist them in the greylist.",
            side=Side.NONE, evidence=_evidence(visit.first, 4) + evidence[-2:]))
    if reply.positive:
        out.append(Finding("smtp.accepts", Status.PASS,
                           f"{visit.host} accepts mail for {domain}", side=Side.NONE,
                           evidence=evidence[-2:]))
        return out
    if info.bounce_class == RELAY_DENIED:
        if primary:
            out.append(Finding(
                "smtp.domain-not-accepted", Status.FAIL,
                f"{visit.host} does not accept mail for {domain}",
                detail=(f"The MX record sends mail for {domain} to {visit.host}, but that server "
                        f"answers '{reply.code} {info.note}': it does not know it is responsible "
                        "for the domain and treats the mail as an attempt to relay. This is the "
                        "classic 'accepted domains' mistake after adding a domain."),
                fix=ACCEPTED_DOMAINS_FIX.format(domain=domain),
                side=Side.YOU, evidence=evidence))
        else:
            out.append(Finding(
                "smtp.backup-mx-rejects-domain", Status.WARN,
                f"The backup MX {visit.host} does not accept mail for {domain}",
                detail=(f"{visit.host} is listed as an MX (preference {visit.preference}) but "
                        f"refuses mail for {domain} as relaying. While the primary works nobody "
                        "notices; when it is down, senders get a permanent error from the backup "
                        "and bounce the mail instead of queueing it."),
                fix=(f"Configure {visit.host} to accept and queue mail for {domain} (Postfix: "
                     f"relay_domains = {domain}; Exim: relay_to_domains), or remove its MX record."),
                side=Side.YOU, evidence=evidence))
        return out
    if info.bounce_class == USER_UNKNOWN:
        asked = walk.mailbox if walk.mailbox and walk.mailbox in " ".join(reply.lines) else None
        address = asked or walk.mailbox or walk.postmaster
        out.append(Finding(
            "smtp.mailbox-unknown", Status.FAIL, f"{visit.host} says {address} does not exist",
            detail=(f"The server takes mail for {domain} but has no mailbox called {address} "
                    f"({reply.code} {reply.enhanced or ''}). Senders get a 'user unknown' bounce."
                    + (" Every domain must have a postmaster address (RFC 5321)."
                       if address == walk.postmaster else "")),
            fix=(f"Create the mailbox or an alias for {address} on the server (Postfix: "
                 "virtual_alias_maps or the mailbox table; check the spelling the sender used)."),
            side=Side.YOU, evidence=evidence))
        return out
    if reply.transient:
        if info.bounce_class != GREYLISTED:
            out.append(Finding(
                "smtp.tempfail", Status.WARN, f"{visit.host} defers mail ({reply.code})",
                detail=f"It answered '{info.note}'. {info.explanation}",
                fix="Senders retry for a few days. If it persists, the server's logs say why.",
                side=Side.YOU, evidence=evidence))
        return out
    out.append(Finding(
        "smtp.rejected", Status.FAIL, f"{visit.host} refused our test delivery ({reply.code})",
        detail=(f"It answered '{info.note}'. {info.explanation} The refusal may concern our test "
                "connection (its HELO or address) rather than real senders."),
        fix="Check the server's logs for the reason given to this connection.",
        side=Side.YOU, evidence=evidence))
    return out


def _refused_us(visit: Visit) -> bool:
    """Whether the host refused our test client (its greeting or its decisive reply)."""
    session = visit.final
    return refusal_of_probe(session.banner) is not None or \
        refusal_of_probe(decisive_reply(session)) is not None


def _anomalies(visit: Visit) -> list[Finding]:
    anomalies = visit.first.anomalies + (visit.retry.anomalies if visit.retry else [])
    if not anomalies:
        return []
    said = [f"{a.detail} (the line: '{visible(a.line, 60)}')" for a in anomalies]
    return [Finding(
        "smtp.protocol-error", Status.WARN, f"{visit.host} broke the rules of the SMTP conversation",
        detail=("What went wrong: " + "; ".join(said[:3])
                + ". Sending servers may misread such replies; it is the sign of a broken "
                "server, a misbehaving proxy or firewall in front of it, or a hostile host."),
        fix="Check what sits on port 25 in front of the mail server (an 'SMTP fixup' firewall, a proxy).",
        side=Side.YOU, evidence=tuple(said[:5]))]


def _unfinished(visit: Visit, domain: str) -> list[Finding]:
    """An ``error`` finding when the conversation broke off before the server said yes or no."""
    session = visit.final
    if decisive_reply(session) is not None or session.error is None or session.ended == "quit":
        return []
    return [Finding(
        "smtp.untested", Status.ERROR, f"Could not finish the test delivery at {visit.host}",
        detail=(f"The conversation ended before we could ask whether {visit.host} accepts mail "
                f"for {domain}: {visible(session.error, 200)}. Senders meet the same trouble, "
                "so mail to this host is likely delayed or lost."),
        fix="Check the mail server's logs and whatever sits in front of it on port 25 (a proxy, a firewall).",
        side=Side.YOU, evidence=_evidence(session, 6))]


#: How a failed connection reads in a sentence, by outcome.
_FAILED_HOW = {
    ConnectOutcome.REFUSED: "are refused",
    ConnectOutcome.TIMEOUT: "get no answer at all",
    ConnectOutcome.NO_GREETING: "open, but no greeting comes",
    ConnectOutcome.CLOSED: "are closed before any greeting",
    ConnectOutcome.BAD_GREETING: "are answered with something that is not SMTP",
}

#: How to make the server take mail on an address family, by family.
_FAMILY_FIX = {
    6: ("Make the mail server listen on IPv6 too (Postfix: inet_protocols = all and "
        "inet_interfaces = all in main.cf; Exim: disable_ipv6 = false) and open port 25 for IPv6 "
        "in the firewall (ip6tables and nftables rules for IPv6 are separate from IPv4's). Or, if "
        "the server is not meant to be reached over IPv6, remove the AAAA record of {host}."),
    4: ("Make the mail server listen on IPv4 too (Postfix: inet_protocols = all), open port 25 "
        "for IPv4 in the firewall and forward it on the router, or correct the A record of "
        "{host}."),
}


def _other_family(fam: int) -> int:
    return 4 if fam == 6 else 6


def _address_families(visits: list[Visit]) -> list[Finding]:
    """Per address family, for hosts with both: ``smtp.ipv6-unreachable`` (or ``ipv4``) when
    one family does not take connections while the other does, and ``smtp.ipv6-untested`` (or
    ``ipv4``) when this machine could not try a family at all (no route, no usable address):
    that is our side, not the server's, and proves nothing about it."""
    out: list[Finding] = []
    untested: dict[int, list[str]] = {}
    for visit in visits:
        attempts = visit.attempts
        working = [a for a in attempts if a.first.outcome is ConnectOutcome.GREETED]
        if len(attempts) < 2 or not working:
            continue  # one family only, or none works: the connection findings say it all
        good = working[0]
        good_where = f"{visit.host} [{good.ip}]:{good.first.port}"
        for attempt in attempts:
            if any(attempt is w for w in working):
                continue
            session, fam = attempt.first, family(attempt.ip)
            where = f"{visit.host} [{attempt.ip}]:{session.port}"
            said = f"connect {where}: {session.outcome.value}"
            if session.outcome in (ConnectOutcome.UNREACHABLE, ConnectOutcome.ERROR):
                reason = f" ({visible(session.error, 200)})" if session.error else ""
                untested.setdefault(fam, []).append(said + reason)
                continue
            how = _FAILED_HOW.get(session.outcome, "fail")
            other = _other_family(fam)
            if fam == 6:
                impact = ("Senders with IPv6 (most large providers) try it first, as the standard "
                          "asks, and fall back to IPv4 when it fails: mail arrives, but each "
                          "delivery first waits for the IPv6 attempt to fail"
                          + (" — for a silent address, a whole connect timeout (often 30 seconds "
                             "or more)" if session.outcome is ConnectOutcome.TIMEOUT else "")
                          + ", and a sender that gives up on the host instead queues the mail.")
            else:
                impact = ("Most senders on the internet still have IPv4 only: for them this host "
                          "is unreachable, and they must use another MX or queue the mail.")
            out.append(Finding(
                f"smtp.ipv{fam}-unreachable", Status.WARN,
                f"{visit.host} does not take connections over IPv{fam}",
                detail=(f"{visit.host} has an IPv{fam} address ({attempt.ip}), but connections "
                        f"to {where} {how}, while IPv{other} ({good_where}) works. {impact}"),
                fix=_FAMILY_FIX[fam].format(host=visit.host),
                side=Side.YOU, evidence=(said, f"connect {good_where}: {good.first.outcome.value}")))
    for fam, lines in sorted(untested.items(), reverse=True):
        out.append(Finding(
            f"smtp.ipv{fam}-untested", Status.INFO, f"IPv{fam} could not be tested from here",
            detail=(f"Some MX hosts have IPv{fam} addresses, but this machine could not even try "
                    f"them (no IPv{fam} route, or no usable local address), so we cannot say "
                    f"whether they take mail. Senders with IPv{fam} use them; their "
                    f"IPv{_other_family(fam)} side worked."),
            fix=f"Run the check again from a machine with working IPv{fam} to test that side.",
            side=Side.NETWORK, evidence=tuple(lines)))
    return out


def judge_smtp(facts: Facts, walk: MailWalk) -> list[Finding]:
    """The whole walk: each host in preference order, then what a sender would experience."""
    domain = facts[MX].domain
    hosts = {h.host: h for h in facts[MX_HOSTS]}
    source_ip = facts.settings.source_ip
    visits = sorted(walk.visits, key=lambda v: v.preference)
    greeted = [v for v in visits if v.first.outcome is ConnectOutcome.GREETED
               and v.first.banner is not None and v.first.banner.code < 400]
    accepting = [v for v in greeted if (r := decisive_reply(v.final)) is not None and r.positive]
    out: list[Finding] = []
    # the host a sender ends up with: the first that does not refuse the connection or defer
    deciding = next((v for v in greeted if (r := decisive_reply(v.final)) is not None
                     and not r.transient), None)
    for visit in visits:
        others_work = any(v is not visit for v in accepting)
        problem = _connection(visit, others_work)
        if problem:
            out.append(problem)
            continue
        greeting = _greeting(visit, hosts.get(visit.host), others_work, domain, source_ip)
        out.extend(greeting)
        if any(f.id in ("smtp.banner-reject", "smtp.tempfail", "smtp.probe-refused")
               for f in greeting):
            continue
        out.extend(_tls(visit))
        out.extend(_rcpt(visit, walk, domain, primary=visit is deciding, source_ip=source_ip))
        out.extend(_anomalies(visit))
        out.extend(_unfinished(visit, domain))
    out.extend(_address_families(visits))
    if not any(v.first.outcome is ConnectOutcome.GREETED for v in visits):
        timed_out = [v for v in visits if v.first.outcome is ConnectOutcome.TIMEOUT]
        out.append(Finding(
            "smtp.unreachable", Status.FAIL, f"No MX host of {domain} could be reached",
            detail=("Every MX host refused or ignored our connection, so senders cannot deliver: "
                    "they queue the mail, retry for a few days and then bounce it."),
            fix=("Make at least one MX host reachable on port 25 from the internet (server "
                 "running, firewall open, port forwarded)."),
            side=Side.YOU, evidence=tuple(f"{v.host} [{v.ip}]: {v.first.outcome.value}" for v in visits)))
        out.extend(port25_blocked(timed_out, len(visits), Side.NETWORK))
    first_reply = decisive_reply(visits[0].final) if visits else None
    if accepting and visits and visits[0] is not accepting[0] and not _refused_us(visits[0]) and \
            (visits[0] not in greeted or first_reply is None or first_reply.transient):
        first = visits[0]
        out.append(Finding(
            "smtp.fallback-used", Status.WARN,
            f"Mail goes to the backup {accepting[0].host}, because {first.host} fails",
            detail=(f"The preferred MX {first.host} did not take the mail, so senders wait for it "
                    f"to fail and then deliver to {accepting[0].host}. Mail arrives, but later, "
                    "and only if the backup really delivers to the mailboxes."),
            fix=f"Repair {first.host} (see the finding above about it).",
            side=Side.YOU))
    return out


def port25_blocked(timed_out: list[Visit], total: int, side: Side) -> list[Finding]:
    """``port25.blocked`` when every host timed out on the SMTP port yet answered on another."""
    if not timed_out or len(timed_out) < total:
        return []
    answered = [v for v in timed_out if any(a in ("connected", "refused") for a in v.other_ports.values())]
    if not answered:
        return []
    port = timed_out[0].first.port
    return [Finding(
        "port25.blocked", Status.FAIL,
        f"Port {port} seems blocked between you and the mail servers",
        detail=(f"Every mail host timed out on port {port}, yet they answer on other ports. "
                f"Something on the path drops port {port}: most often your own internet provider, "
                "which blocks outgoing mail connections on home and many cloud connections to "
                "stop spam from infected machines."),
        fix=("Send through your provider's mail relay (smarthost), or through a mail service "
             "on the submission port 587 with a login (Postfix: relayhost = [smtp.your-isp.example]:587 "
             "with SASL authentication). Some providers unblock port 25 on request."),
        side=side, evidence=tuple(
            f"{v.host} [{v.ip}]: port {port} timeout; "
            + ", ".join(f"port {p} {a}" for p, a in v.other_ports.items()) for v in timed_out))]
