"""Is mail to the domain protected in transit? Certificates, MTA-STS and DANE, judged together.

One certificate problem means very different things depending on what the domain publishes. On
port 25 almost every sender uses TLS opportunistically: it encrypts when it can and does not
check the certificate, so an untrusted, expired or misnamed certificate costs nothing today. The
senders that do check are those the domain asked to: with an MTA-STS policy in enforce mode,
senders that support MTA-STS refuse any MX whose certificate does not verify (RFC 8461 §4.2);
with DANE, DANE senders refuse any MX whose certificate does not match its TLSA records
(RFC 7672). So a certificate problem is a warning that names who would refuse, unless the domain
publishes such a policy, where it is a failure on the domain's side. With DANE-EE (usage 3) the
certificate's authority, names and dates do not matter to DANE senders at all: only the key.

The inputs are plain facts (the TLS of each visited MX host with its verified chain, the MTA-STS
policy, the DANE records); the findings here are the ones that need them together. Record-level
problems are judged in :mod:`~mxwizard.diagnosis.rules.mta_sts`, :mod:`~mxwizard.diagnosis.rules.dane`
and :mod:`~mxwizard.diagnosis.rules.tls_rpt`.
"""

from __future__ import annotations

import itertools

from cryptography import x509

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.rules.dane import dane_applies, usable
from mxwizard.diagnosis.rules.mta_sts import enforcing, policy_text
from mxwizard.probes.dane import DaneFacts, DaneHost, TlsaRecord, association
from mxwizard.probes.mta_sts import MtaStsFacts
from mxwizard.probes.mta_sts_policy import mx_matches
from mxwizard.probes.smtp.certificates import HostTls, TransportFacts
from mxwizard.probes.smtp.tls import describe

#: A certificate that expires sooner than this is a warning: renewal has failed somewhere.
EXPIRY_WARNING_DAYS = 14
#: Smallest RSA (and DSA) key still accepted by current guidance; EC curves below 256 bits.
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_HASHES = frozenset({"md5", "sha1"})
OLD_TLS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})
_WEAK_CIPHER_WORDS = ("RC4", "DES-CBC3", "3DES", "NULL", "EXPORT", "EXP-", "MD5", "ADH", "AECDH")
MTA_STS_SENDERS = "senders that support MTA-STS (Gmail and Microsoft 365 among them)"
DANE_SENDERS = "DANE senders (Postfix and Exim with DANE on, and several big mailbox providers)"


def _certificate_problems(host: HostTls) -> list[str]:
    """Why a sender that verifies certificates (as MTA-STS asks) would refuse this one."""
    tls = host.tls
    if tls is None:
        return []
    cert = tls.certificate
    out: list[str] = []
    if cert is None:
        return [tls.certificate_error or "the server sent no certificate"]
    if host.chain is not None and not host.chain.trusted:
        out.append(host.chain.reason)
    if not cert.name_matches:
        names = ", ".join(cert.dns_names[:4]) or cert.common_name or "no name"
        out.append(f"it is issued for {names}, not for {host.host}")
    elif cert.matched_by_common_name:
        out.append(f"it names {host.host} only in its subject, not in a subjectAltName, which "
                   "verifying clients require")
    if cert.expired:
        out.append(f"it expired on {cert.not_after:%Y-%m-%d}")
    if cert.not_yet_valid:
        out.append(f"it is not valid before {cert.not_before:%Y-%m-%d}")
    return [visible(p, 400) for p in out]


def _weaknesses(host: HostTls) -> list[str]:
    cert = host.tls.certificate if host.tls is not None else None
    if cert is None:
        return []
    out: list[str] = []
    if cert.key.startswith(("RSA", "DSA")) and 0 < cert.key_bits < MIN_RSA_BITS:
        out.append(f"its key is {cert.key} (at least {MIN_RSA_BITS} bits are expected)")
    if cert.key.startswith("EC") and 0 < cert.key_bits < MIN_EC_BITS:
        out.append(f"its key is {cert.key} (a curve of at least {MIN_EC_BITS} bits is expected)")
    if cert.signature_hash in WEAK_HASHES:
        out.append(f"it is signed with {cert.signature_hash.upper()}, which is broken; clients "
                   "refuse such signatures")
    return out


def _evidence(host: HostTls) -> tuple[str, ...]:
    lines: list[str] = []
    if host.tls is not None:
        lines.append(describe(host.tls))
        cert = host.tls.certificate
        if cert is not None:
            lines.append(f"subject {cert.subject}; issuer {cert.issuer}; valid "
                         f"{cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}; {cert.key}")
    if host.chain is not None:
        lines.append("chain sent: " + " <- ".join(host.chain.presented[:5]))
        if host.chain.path:
            lines.append("verified path: " + " <- ".join(host.chain.path[:5]))
        lines.append(host.chain.store)
    return tuple(visible(line, 400) for line in lines)


def _certificate_fix(host: HostTls, problems: list[str]) -> str:
    name = host.host
    steps = [f"Install a certificate for {name} from a public authority and renew it "
             f"automatically, e.g. with Let's Encrypt: certbot certonly --standalone -d {name}"]
    text = " ".join(problems)
    if "intermediate" in text:
        steps.append("Configure the full chain (the server's certificate followed by the "
                     "intermediate ones: fullchain.pem, not cert.pem)")
    if "expired" in text:
        steps.append("Renew it now (certbot renew) and reload the mail server; check why the "
                     "automatic renewal did not run")
    if "issued for" in text:
        steps.append(f"The certificate must name {name} in a subjectAltName (or the MX record "
                     "must point to a name the certificate carries)")
    steps.append("Postfix: smtpd_tls_chain_files = /etc/letsencrypt/live/"
                 f"{name}/privkey.pem, /etc/letsencrypt/live/{name}/fullchain.pem (then postfix "
                 "reload)")
    return "\n".join(f"- {step}." for step in steps)


def _dane_match(host: HostTls, dane: DaneHost) -> TlsaRecord | None:
    """The first usable TLSA record that authenticates the presented chain (RFC 7672 §3.1):
    DANE-EE matches the server's own certificate, no other check; DANE-TA matches a certificate
    above it in the chain the server sent, which must link up to it by issuer, and the server's
    certificate must then also carry the host's name."""
    if host.tls is None or not host.tls.chain:
        return None
    chain = host.tls.chain
    cert = host.tls.certificate
    for record in dane.records:
        if not usable(record):
            continue
        if record.usage == 3:
            if association(chain[0], record.selector, record.matching) == record.data:
                return record
            continue
        for index, der in enumerate(chain[1:], 1):
            if association(der, record.selector, record.matching) != record.data:
                continue
            if cert is not None and cert.name_matches and _links_up(chain[: index + 1]):
                return record
    return None


def _links_up(chain: tuple[bytes, ...]) -> bool:
    """Each certificate of ``chain`` is issued by the next one (by name)."""
    try:
        parsed = [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError:
        return False
    return all(a.issuer == b.subject for a, b in itertools.pairwise(parsed))


def _spki_tlsa(host: HostTls) -> str:
    """The DANE-EE record that would match the key the server presents now."""
    if host.tls is None or not host.tls.chain:
        return f"_25._tcp.{host.host}. 3600 IN TLSA 3 1 1 <sha256 of the server's public key>"
    digest = association(host.tls.chain[0], 1, 1) or "<sha256 of the server's public key>"
    return f"_25._tcp.{host.host}. 3600 IN TLSA 3 1 1 {digest}"


def _certificate(host: HostTls, domain: str, mode: str, dane: DaneHost | None,
                 dane_ok: bool) -> list[Finding]:
    name = visible(host.host, 300)
    problems = _certificate_problems(host)
    evidence = _evidence(host)
    out: list[Finding] = []
    cert = host.tls.certificate if host.tls is not None else None
    if not problems:
        out.append(Finding("smtp.tls-certificate-ok", Status.PASS,
                           f"The TLS certificate of {name} is valid and trusted",
                           detail=("It names the host, is within its dates and leads to a trusted "
                                   "authority: senders that verify certificates accept it."),
                           evidence=evidence))
    else:
        listed = "; ".join(problems)
        if mode == "enforce":
            status, side = Status.FAIL, Side.YOU
            context = (f"{domain} publishes an MTA-STS policy in enforce mode, so {MTA_STS_SENDERS} "
                       f"will not deliver to {name}: they queue the mail and bounce it after a "
                       "few days.")
        elif dane is not None and not dane_ok:
            status, side = Status.FAIL, Side.YOU
            context = (f"{domain} publishes DANE records for {name}, and they do not match this "
                       f"certificate either (see the DANE finding), so {DANE_SENDERS} will not "
                       "deliver to it.")
        elif dane is not None:
            status, side = Status.INFO, Side.NONE
            context = (f"Its DANE record authenticates it anyway, so {DANE_SENDERS} deliver; "
                       "senders that only trust public authorities would refuse it, but "
                       f"{domain} asks none of them to check (no MTA-STS policy in enforce mode).")
        else:
            status, side = Status.WARN, Side.YOU
            context = ("Most senders use TLS without checking the certificate and deliver anyway. "
                       f"{MTA_STS_SENDERS[0].upper() + MTA_STS_SENDERS[1:]} and {DANE_SENDERS} "
                       "refuse such a certificate when the domain asks them to check; "
                       f"{domain} publishes neither an MTA-STS policy in enforce mode nor DANE, "
                       "so today they deliver too.")
            if mode == "testing":
                context += (" The MTA-STS policy is in testing mode: these senders report the "
                            "failure to the TLS-RPT address, and would refuse once it is enforced.")
        subject = f" ({visible(cert.subject, 200)})" if cert is not None else ""
        out.append(Finding(
            "smtp.tls-certificate", status, f"The TLS certificate of {name} would not verify",
            detail=f"A sender that verifies would refuse the certificate{subject}: {listed}. {context}",
            fix=_certificate_fix(host, problems), side=side, evidence=evidence))
    if cert is not None and not cert.expired and cert.days_left < EXPIRY_WARNING_DAYS:
        out.append(Finding(
            "smtp.tls-certificate-expiring", Status.WARN,
            f"The TLS certificate of {name} expires in {max(cert.days_left, 0)} days",
            detail=(f"It is valid until {cert.not_after:%Y-%m-%d %H:%M} UTC. Certificates are "
                    "normally renewed 30 days ahead; one this close to its end means the "
                    "automatic renewal is not working."),
            fix="Renew it now (certbot renew), reload the mail server, and repair the renewal job.",
            side=Side.YOU, evidence=evidence))
    weak = _weaknesses(host)
    if weak:
        out.append(Finding(
            "smtp.tls-certificate-weak", Status.WARN, f"The TLS certificate of {name} is weak",
            detail="Current clients distrust it: " + "; ".join(weak) + ".",
            fix=(f"Make a new key (RSA {MIN_RSA_BITS} bits or more, or EC P-256) and get a new "
                 "certificate signed with SHA-256."),
            side=Side.YOU, evidence=evidence))
    return out


def _session(host: HostTls) -> list[Finding]:
    tls = host.tls
    if tls is None:
        return []
    name = visible(host.host, 300)
    out: list[Finding] = []
    if tls.version in OLD_TLS:
        out.append(Finding(
            "smtp.tls-version-old", Status.WARN, f"{name} negotiates {tls.version}",
            detail=(f"{tls.version} is deprecated (RFC 8996); senders that require TLS 1.2 — MTA-STS "
                    "and DANE implementations mostly do — cannot deliver over it."),
            fix="Enable TLS 1.2 and 1.3 (Postfix: smtpd_tls_protocols = >=TLSv1.2 with a current "
                "OpenSSL).",
            side=Side.YOU, evidence=(describe(tls),)))
    weak = (tls.cipher_bits is not None and tls.cipher_bits < 128) or any(
        word in tls.cipher.upper() for word in _WEAK_CIPHER_WORDS)
    if weak:
        out.append(Finding(
            "smtp.tls-cipher-weak", Status.WARN, f"{name} chose the weak cipher {visible(tls.cipher, 80)}",
            detail=("Offered every cipher, the server picked one that is broken or too short, so "
                    "its encryption protects little."),
            fix="Remove weak ciphers (Postfix: smtpd_tls_mandatory_exclude_ciphers = aNULL, RC4, "
                "3DES, MD5; tls_preempt_cipherlist = yes).",
            side=Side.YOU, evidence=(describe(tls),)))
    return out


def _policy_coverage(facts: TransportFacts, sts: MtaStsFacts, mode: str) -> list[Finding]:
    assert sts.policy is not None
    patterns = sts.policy.mx
    missing = [h for h in facts.mx_hosts if not any(mx_matches(h, p) for p in patterns)]
    evidence = tuple(visible(f"mx: {p}", 200) for p in patterns[:10]) + tuple(
        f"MX host {h}: {'not listed' if h in missing else 'listed'}" for h in facts.mx_hosts[:10])
    if not missing:
        return [Finding("mta-sts.mx-listed", Status.PASS,
                        f"The MTA-STS policy of {facts.domain} lists every MX host",
                        evidence=evidence)] if facts.mx_hosts else []
    enforced = mode == "enforce"
    return [Finding(
        "mta-sts.mx-not-listed", Status.FAIL if enforced else Status.WARN,
        f"The MTA-STS policy of {facts.domain} does not list {', '.join(missing[:3])}",
        detail=("Senders that apply the policy deliver only to MX hosts matching its mx: lines. "
                + (f"In enforce mode they will not deliver to {', '.join(missing[:5])}; if the "
                   "listed hosts fail, the mail waits in their queues."
                   if enforced else "In testing mode they report the mismatch and deliver.")),
        fix=("List every MX host in the policy and change the id in the _mta-sts TXT record "
             "so senders fetch it again:\n" + policy_text(facts.mx_hosts, mode)),
        side=Side.YOU, evidence=evidence)]


def _dane(host: HostTls, dane: DaneHost) -> tuple[list[Finding], bool]:
    """DANE's verdict on one visited host: (findings, authenticated)."""
    name = visible(host.host, 300)
    records = tuple(visible(f"_25._tcp.{host.host} TLSA {r.text}", 300) for r in dane.records[:6])
    if not host.offered:
        return [Finding(
            "dane.starttls-missing", Status.FAIL, f"{name} publishes DANE but offers no STARTTLS",
            detail=(f"DANE promises senders that {name} speaks TLS with a certificate matching its "
                    f"TLSA records; without STARTTLS, {DANE_SENDERS} defer the mail and bounce it "
                    "after a few days."),
            fix="Enable STARTTLS on the server, or remove the TLSA records.",
            side=Side.YOU, evidence=records)], False
    if host.tls is None:
        return [Finding(
            "dane.tls-failed", Status.FAIL, f"TLS with {name} fails, and it publishes DANE",
            detail=(f"The TLS handshake fails ({visible(host.error or 'no reason given', 200)}), "
                    f"so {DANE_SENDERS} cannot deliver."),
            fix="Repair the server's TLS setup (its logs name the error).",
            side=Side.YOU, evidence=records)], False
    match = _dane_match(host, dane)
    if match is not None:
        return [Finding("dane.ok", Status.PASS, f"The DANE record of {name} matches its certificate",
                        detail=f"TLSA {match.text[:40]}... authenticates what the server presents.",
                        evidence=records + _evidence(host))], True
    return [Finding(
        "dane.mismatch", Status.FAIL, f"The DANE records of {name} do not match its certificate",
        detail=(f"None of the TLSA records at _25._tcp.{name} matches the certificate chain the "
                f"server presents, so {DANE_SENDERS} refuse to deliver to it. This is what happens "
                "when a certificate's key changes (a renewal that made a new key) before the "
                "TLSA records are updated."),
        fix=("Publish a record for the key in use now, keep it beside the old one until the old "
             "one's TTL has passed, then remove the old one:\n  " + _spki_tlsa(host) + "\n"
             "(Renew certificates with the same key, e.g. certbot --reuse-key, so the record "
             "keeps matching.)"),
        side=Side.YOU, evidence=records + _evidence(host))], False


def judge_transport(facts: TransportFacts, sts: MtaStsFacts | None,
                    dane: DaneFacts | None) -> list[Finding]:
    """Certificates, TLS, MTA-STS coverage and DANE matching for every visited MX host."""
    out: list[Finding] = []
    domain = facts.domain
    mode = enforcing(sts)
    if sts is not None and mode:
        out += _policy_coverage(facts, sts, mode)
    for problem in facts.store_problems:
        out.append(Finding(
            "smtp.ca-file-unusable", Status.WARN, "The --ca-file could not be used",
            detail=f"{visible(problem, 300)}; certificates were judged against the system's "
                   "trust store only.",
            fix="Give a PEM file with the CA's certificate (-----BEGIN CERTIFICATE-----).",
            side=Side.YOU))
    seen: set[str] = set()
    for host in facts.hosts:
        if host.host in seen or not host.talked:
            continue
        seen.add(host.host)
        dane_host = dane_applies(dane, host.host)
        dane_findings, dane_ok = _dane(host, dane_host) if dane_host is not None else ([], False)
        out += dane_findings
        if not host.offered:
            if mode:
                out.append(Finding(
                    "mta-sts.starttls-missing", Status.FAIL if mode == "enforce" else Status.WARN,
                    f"{visible(host.host, 300)} offers no STARTTLS, but the MTA-STS policy asks for TLS",
                    detail=(f"Under the {mode} policy of {domain}, {MTA_STS_SENDERS} "
                            + ("will not deliver to it." if mode == "enforce"
                               else "report the failure and deliver.")),
                    fix="Enable STARTTLS with a certificate for the host's name from a public "
                        "authority.",
                    side=Side.YOU))
            continue
        if host.tls is None:
            continue  # smtp.tls-failed says it
        out += _certificate(host, domain, mode, dane_host, dane_ok)
        out += _session(host)
    return out
