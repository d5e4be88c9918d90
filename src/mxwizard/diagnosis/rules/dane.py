"""Rules for DNSSEC and the DANE records of the MX hosts (RFC 7672), before any SMTP is judged.

Everything here rests on what a validating resolver says. When the resolver asked does not
validate, no AD bit means anything, and the rules say plainly that DNSSEC and DANE cannot be
judged from here (and how to ask one that does) instead of guessing.

RFC 7672 in short, as these rules apply it: a sender uses DANE for an MX host only when the
domain's MX answer and the host's address are DNSSEC-authenticated and the host's TLSA records
(``_25._tcp.HOST``) are too. TLSA records with usage 2 (DANE-TA) or 3 (DANE-EE) count; usages 0
and 1 are unusable for SMTP (§3.1.3). A TLSA lookup that fails, or is bogus, makes a DANE sender
defer mail to that host rather than send it without the protection it was promised (§2.2). A
bogus domain is worse: validating resolvers answer SERVFAIL, and senders that use one — most of
the big ones — cannot even find the MX hosts.

Whether the records match the certificate the server presents is judged with the SMTP visits,
in :mod:`mxwizard.diagnosis.rules.transport`.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status, not_checked
from mxwizard.core.untrusted import visible
from mxwizard.probes.dane import Answer, DaneFacts, DaneHost, Security, TlsaRecord
from mxwizard.render.dnsview import dig_command

#: The TLSA usages, selectors and matching types RFC 7672 lets SMTP use.
USABLE_USAGES = (2, 3)
KNOWN_SELECTORS = (0, 1)
KNOWN_MATCHING = (0, 1, 2)


def usable(record: TlsaRecord) -> bool:
    """A TLSA record a DANE SMTP sender uses (DANE-TA or DANE-EE, known selector and matching)."""
    return record.usage in USABLE_USAGES and record.selector in KNOWN_SELECTORS \
        and record.matching in KNOWN_MATCHING


def dane_applies(dane: DaneFacts | None, host: str) -> DaneHost | None:
    """The host's DANE facts when a DANE sender would insist on them: the resolver validates,
    the MX answer and the host's address are authenticated, and its TLSA records are published,
    authenticated and at least one is usable. None otherwise (senders use plain opportunistic
    TLS)."""
    if dane is None or not dane.validating or dane.mx.security is not Security.SECURE:
        return None
    found = next((h for h in dane.hosts if h.host == host), None)
    if found is None or found.address.security is not Security.SECURE:
        return None
    if found.tlsa.security is not Security.SECURE or not any(usable(r) for r in found.records):
        return None
    return found


def _line(answer: Answer, cd: bool = False) -> str:
    """The lookup as a dig command (dig sets AD by default; ``cd``: the retry with checking
    disabled) and what came back, with AD."""
    lookup = answer.lookup
    values = "; ".join(r.text for r in lookup.records())[:200]
    ad = " (AD: validated)" if lookup.authenticated else ""
    command = dig_command(lookup) + (" +cd" if cd else "")
    return visible(f"{command} -> {lookup.outcome.value}{ad} {values}".rstrip(), 400)


def _bogus(what: str, answer: Answer, side: Side = Side.YOU) -> Finding:
    return Finding(
        "dnssec.bogus", Status.FAIL, f"DNSSEC validation fails for {visible(what, 200)}",
        detail=("A validating resolver answers SERVFAIL for it, although the data is there "
                "(asked again with checking disabled): the signatures or the DS record in the "
                "parent zone are broken. Every sender whose resolver validates — Google, "
                "Microsoft, most providers — gets no answer, so mail to it is queued and then "
                "bounced."),
        fix=("Repair the signing: re-sign the zone (expired RRSIGs are the usual cause), or make "
             "the DS record at the registrar match the zone's current key (KSK). If the zone "
             "cannot be fixed quickly, remove the DS record at the registrar: the zone then "
             "becomes unsigned, and reachable again once the DS TTL has passed. Check with "
             "https://dnsviz.net/."),
        side=side, evidence=(_line(answer), *([_line(Answer(answer.retry, Security.BOGUS), cd=True)]
                                               if answer.retry else [])))


def judge_dnssec(dane: DaneFacts, resolver: str = "the resolver") -> list[Finding]:
    """dnssec.* for the domain and its MX hosts, and dane.* about the TLSA records themselves."""
    domain = dane.domain
    if dane.root.outcome.is_failure:  # no answer at all: the DNS findings say so
        return []
    if not dane.validating:
        published = [h.host for h in dane.hosts if h.records]
        also = (f" TLSA records were found for {', '.join(published[:5])}; whether senders can use "
                "them cannot be judged either.") if published else ""
        return [Finding(
            "dnssec.not-validated", Status.INFO,
            "DNSSEC and DANE cannot be judged from here",
            detail=(f"The resolver asked ({visible(resolver, 200)}) does not validate DNSSEC: it "
                    "never sets the AD bit, not even for the root zone, which is signed. So "
                    f"whether {domain} and its MX hosts are signed, and whether their DANE records "
                    f"count, cannot be told from its answers.{also}"),
            fix=("Run the check with a validating resolver, e.g. --resolver 1.1.1.1 or "
                 "--resolver 8.8.8.8, or a local unbound."),
            side=Side.NONE, evidence=(_line(Answer(dane.root, Security.UNKNOWN)),))]
    out: list[Finding] = []
    mx = dane.mx
    if mx.security is Security.BOGUS:
        return [_bogus(f"the MX records of {domain}", mx)]
    if mx.security is Security.FAILED:  # no answer, with validation or without: nothing to judge
        return [not_checked(
            "dane", "DNSSEC and DANE",
            f"the MX records of {visible(domain, 200)} could not be looked up, with DNSSEC "
            "validation or without it, so the fault is not DNSSEC (see the DNS finding)")]
    if mx.security is Security.SECURE:
        out.append(Finding("dnssec.signed", Status.PASS, f"{domain} is signed with DNSSEC",
                           detail="Its MX records are authenticated by a validating resolver.",
                           evidence=(_line(mx),)))
    elif mx.security is Security.INSECURE:
        out.append(Finding(
            "dnssec.unsigned", Status.INFO, f"{domain} is not signed with DNSSEC",
            detail=("Its answers are not authenticated. Mail is delivered as usual, but DANE "
                    "cannot be used, so TLS to your MX hosts is protected only if you publish "
                    "MTA-STS."),
            fix=("Sign the zone at your DNS provider (most offer it as one switch) and publish "
                 "the DS record at the registrar; then DANE becomes possible."),
            side=Side.NONE, evidence=(_line(mx),)))
    for host in dane.hosts:
        out += _host(dane, host)
    return out


def _host(dane: DaneFacts, host: DaneHost) -> list[Finding]:
    name = visible(host.host, 300)
    if host.address.security is Security.BOGUS:
        return [_bogus(f"the address of {host.host}", host.address)]
    secure_mx = dane.mx.security is Security.SECURE
    if secure_mx and host.address.security is Security.INSECURE:
        return [Finding(
            "dnssec.mx-host-unsigned", Status.INFO, f"The zone of MX host {name} is not signed",
            detail=(f"{dane.domain} is signed, but the address of {name} is not authenticated, "
                    "so DANE senders cannot use DANE for it (they fall back to opportunistic TLS)."),
            fix="Sign the zone that holds the MX host's name, then publish TLSA records for it.",
            side=Side.NONE, evidence=(_line(host.address),))]
    tlsa = host.tlsa
    if tlsa.security is Security.BOGUS:
        finding = _bogus(f"the TLSA records of {host.host}", tlsa)
        return [Finding("dane.tlsa-bogus", Status.FAIL, finding.title,
                        detail=finding.detail + " A DANE sender defers mail to this host.",
                        fix=finding.fix, side=Side.YOU, evidence=finding.evidence)]
    if tlsa.security is Security.FAILED and secure_mx and host.address.security is Security.SECURE:
        return [Finding(
            "dane.tlsa-lookup-failed", Status.FAIL, f"The TLSA lookup for {name} fails",
            detail=(f"The zone is signed, and the question for _25._tcp.{name} TLSA gets no "
                    f"usable answer ({tlsa.lookup.outcome.value}). DANE senders must then defer "
                    "mail to this host rather than send it unprotected (RFC 7672 §2.2)."),
            fix=("Make the zone's servers answer TLSA questions (some old DNS servers or "
                 "firewalls drop unknown record types); a name without TLSA records must get a "
                 "signed 'no such record' answer."),
            side=Side.YOU, evidence=(_line(tlsa),))]
    if not host.records:
        if secure_mx and host.address.security is Security.SECURE:
            return [Finding(
                "dane.none", Status.INFO, f"No DANE (TLSA) records for {name}",
                detail=("The zone is signed, so DANE is possible: TLSA records would tell DANE "
                        "senders which certificate to expect, protecting mail against a fake "
                        "certificate even where no public authority is involved."),
                fix=(f"Publish a DANE-EE record of the server's public key, e.g. with "
                     f"'openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER "
                     f"| openssl dgst -sha256':\n  _25._tcp.{name}. 3600 IN TLSA 3 1 1 <sha256 hex>"),
                side=Side.NONE, evidence=(_line(tlsa),))]
        return []
    out: list[Finding] = []
    evidence = (_line(tlsa), *(visible(f"_25._tcp.{host.host} TLSA {r.text}", 300)
                               for r in host.records[:6]))
    if tlsa.security is not Security.SECURE:
        out.append(Finding(
            "dane.tlsa-unsigned", Status.WARN, f"The TLSA records of {name} are not DNSSEC-signed",
            detail=("DANE senders use TLSA records only when DNSSEC authenticates them (and the "
                    "domain's MX records and the host's address too); these are ignored, so "
                    "they protect nothing."),
            fix="Sign the zone that holds them (and the domain's zone), or remove them.",
            side=Side.YOU, evidence=evidence))
        return out
    unusable = [r for r in host.records if not usable(r)]
    if unusable or host.unreadable:
        shown = [r.text[:60] for r in unusable] + list(host.unreadable)
        none_left = not any(usable(r) for r in host.records)
        out.append(Finding(
            "dane.unusable", Status.WARN,
            f"{'No' if none_left else 'Some'} TLSA records of {name} can be used for mail",
            detail=("For SMTP, only usages 2 (DANE-TA) and 3 (DANE-EE) count, with selector 0 or "
                    "1 and matching type 0, 1 or 2 (RFC 7672 §3.1.3); these do not: "
                    + "; ".join(visible(s, 80) for s in shown[:4]) + "."
                    + (" So DANE senders treat the host as having none." if none_left else "")),
            fix=f"Publish DANE-EE records instead: _25._tcp.{name}. IN TLSA 3 1 1 <sha256 of the "
                "server's public key>",
            side=Side.YOU, evidence=evidence))
    return out
