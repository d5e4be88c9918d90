"""Rules for MTA-STS (RFC 8461): is the TXT record right, can senders fetch the policy, does it parse?

Each way the setup breaks is its own finding, with the fix that repairs exactly that: the TXT
record to publish, the policy file to serve (with the domain's real MX hosts in it when they are
known), or the web server to set up. Whether the MX hosts match the policy and present
certificates an enforcing sender accepts is judged with the SMTP visits, in
:mod:`mxwizard.diagnosis.rules.transport`.

How bad a broken setup is: a domain without MTA-STS receives mail like any other, so "none" is a
note. But a domain that publishes the TXT record has said it wants protection; a policy that
cannot be fetched or parsed gives none (senders without a cached policy treat the domain as
having no policy, those with one keep applying the old one until it expires), so those are
failures of the setup, on the domain's side.
"""

from __future__ import annotations

from collections.abc import Sequence

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.rules.dns import unanswered
from mxwizard.probes.mta_sts import POLICY_PATH, FetchOutcome, MtaStsFacts
from mxwizard.probes.mta_sts_policy import MAX_AGE_RECOMMENDED
from mxwizard.render.dnsview import dig_command

#: The id senders compare to notice a new policy: any 1-32 letters and digits; a time stamp
#: is the usual choice, changed whenever the policy changes.
EXAMPLE_ID = "20260101000000Z"


def txt_fix(domain: str) -> str:
    """The TXT record that announces a policy."""
    return (f"Publish one TXT record (change the id whenever the policy changes):\n"
            f"  _mta-sts.{domain}. 3600 IN TXT \"v=STSv1; id={EXAMPLE_ID}\"")


def policy_text(mx_hosts: Sequence[str], mode: str = "enforce") -> str:
    """A policy file listing ``mx_hosts`` (CRLF line endings, as RFC 8461 writes it)."""
    hosts = list(mx_hosts) or ["YOUR-MX-HOST"]
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {h}" for h in hosts), "max_age: 604800"]
    return "\n".join(f"  {line}" for line in lines)


def web_fix(domain: str, mx_hosts: Sequence[str], mode: str = "enforce") -> str:
    """The policy file and the web server that serves it."""
    host = f"mta-sts.{domain}"
    return (f"Serve this file at https://{host}{POLICY_PATH} (text/plain, lines ending in CRLF; "
            "start with mode: testing if unsure, then switch to enforce):\n"
            f"{policy_text(mx_hosts, mode)}\n"
            f"The web server needs an address record for {host} and a certificate for that name "
            "from a public authority (e.g. Let's Encrypt), and must answer directly, without a "
            "redirect. With nginx:\n"
            "  server {\n"
            "    listen 443 ssl;\n"
            f"    server_name {host};\n"
            f"    ssl_certificate     /etc/letsencrypt/live/{host}/fullchain.pem;\n"
            f"    ssl_certificate_key /etc/letsencrypt/live/{host}/privkey.pem;\n"
            "    root /var/www/mta-sts;   # the file: /var/www/mta-sts/.well-known/mta-sts.txt\n"
            "    default_type text/plain;\n"
            "  }")


def _fetch_evidence(facts: MtaStsFacts) -> tuple[str, ...]:
    fetch = facts.fetch
    if fetch is None:
        return ()
    lines = [f"GET {fetch.url}"]
    lines += [dig_command(lookup) + f" -> {lookup.outcome.value} "
              + " ".join(str(v) for v in lookup.values()) for lookup in fetch.lookups]
    if fetch.status is not None:
        lines.append(f"HTTP {fetch.status}" + (f", Content-Type: {fetch.content_type}"
                                               if fetch.content_type else ""))
    if fetch.location:
        lines.append(f"Location: {fetch.location}")
    if fetch.error:
        lines.append(fetch.error)
    if fetch.body:
        shown = fetch.body[:600].decode("ascii", "replace").splitlines()[:12]
        lines += [f"| {line}" for line in shown]
    return tuple(visible(line, 300) for line in lines)


def _record_evidence(facts: MtaStsFacts) -> tuple[str, ...]:
    shown = [visible(f"_mta-sts.{facts.domain} TXT \"{t}\"", 300)
             for t in (*facts.records, *facts.other_texts)[:6]]
    return (dig_command(facts.txt), *shown) if shown else (dig_command(facts.txt),
                                                            facts.txt.outcome.value)


_FETCH_FAILURES: dict[FetchOutcome, tuple[str, str, str]] = {
    # outcome: (id, title, what it means)
    FetchOutcome.NO_HOST: (
        "mta-sts.policy-host-missing", "{host} has no address senders can reach",
        "The TXT record announces a policy, but the web server name {host} has no public "
        "address, so no sender can fetch the policy."),
    FetchOutcome.CONNECT_FAILED: (
        "mta-sts.fetch-failed", "The web server {host} refuses connections",
        "Senders cannot connect to {host} on port 443 to fetch the policy ({error})."),
    FetchOutcome.TIMEOUT: (
        "mta-sts.fetch-timeout", "The policy at {host} did not come in time",
        "Fetching the policy took longer than we wait ({error}); senders give up after a "
        "similar time."),
    FetchOutcome.CERTIFICATE: (
        "mta-sts.policy-certificate", "The certificate of {host} does not verify",
        "Senders fetch the policy only over HTTPS with a valid certificate for {host} (RFC 8461 "
        "§3.3), and this one is refused: {error}."),
    FetchOutcome.TLS_FAILED: (
        "mta-sts.fetch-failed", "HTTPS with {host} fails",
        "The encrypted connection to {host} could not be set up: {error}."),
    FetchOutcome.REDIRECT: (
        "mta-sts.policy-redirect", "{host} answers the policy request with a redirect",
        "The policy URL answers {status} and points elsewhere ({location}); senders must not "
        "follow redirects (RFC 8461 §3.3), so for them there is no policy."),
    FetchOutcome.HTTP_STATUS: (
        "mta-sts.policy-http-status", "{host} answers {status} instead of the policy",
        "Senders need status 200 with the policy file at {path}; this web server answers "
        "{status}, so for them there is no policy."),
    FetchOutcome.TOO_LARGE: (
        "mta-sts.policy-too-large", "The policy at {host} is larger than 64 KB",
        "Senders read at most 64 KB of a policy (RFC 8461 §3.3), and this answer is bigger: "
        "it is not a policy file, or the web server sends something else at this URL."),
    FetchOutcome.ERROR: (
        "mta-sts.fetch-failed", "The policy at {host} could not be fetched",
        "The web server's answer could not be read ({error})."),
}


def _fetch_failure(facts: MtaStsFacts, mx_hosts: Sequence[str]) -> Finding | None:
    fetch = facts.fetch
    if fetch is None or fetch.outcome is FetchOutcome.OK:
        return None
    if fetch.outcome is FetchOutcome.DNS_FAILED:
        return unanswered(fetch.lookups[0], f"the address of {fetch.host}") if fetch.lookups \
            else None
    ident, title, detail = _FETCH_FAILURES[fetch.outcome]
    words = {"host": visible(fetch.host, 300), "error": visible(fetch.error or "no reason given", 300),
             "status": str(fetch.status), "location": visible(fetch.location or "nowhere", 300),
             "path": POLICY_PATH}
    consequence = (" Mail still arrives, but without MTA-STS protection; senders that still "
                   "hold an earlier policy keep applying it until it expires.")
    return Finding(ident, Status.FAIL, title.format(**words),
                   detail=detail.format(**words) + consequence,
                   fix=web_fix(facts.domain, mx_hosts), side=Side.YOU,
                   evidence=_fetch_evidence(facts))


def _policy_findings(facts: MtaStsFacts, mx_hosts: Sequence[str]) -> list[Finding]:
    policy, fetch = facts.policy, facts.fetch
    if policy is None or fetch is None:
        return []
    host = visible(fetch.host, 300)
    out: list[Finding] = []
    kind = fetch.content_type.split(";", 1)[0].strip().lower()
    if kind != "text/plain":
        out.append(Finding(
            "mta-sts.policy-content-type", Status.WARN,
            f"The policy at {host} is not served as text/plain",
            detail=(f"The web server says Content-Type '{visible(fetch.content_type or 'none', 100)}'. "
                    "RFC 8461 §3.2 asks senders to check for text/plain, and strict ones ignore "
                    "the policy otherwise."),
            fix="Serve the file with Content-Type: text/plain (nginx: default_type text/plain;).",
            side=Side.YOU, evidence=_fetch_evidence(facts)))
    if not policy.valid:
        out.append(Finding(
            "mta-sts.policy-invalid", Status.FAIL, f"The MTA-STS policy at {host} is not valid",
            detail=("Senders ignore a policy they cannot parse, so the domain has no MTA-STS "
                    "protection: " + "; ".join(visible(p, 200) for p in policy.problems[:8]) + "."),
            fix="Replace the file with a valid policy, for example:\n" + policy_text(mx_hosts),
            side=Side.YOU, evidence=_fetch_evidence(facts)))
        return out
    for note in policy.notes:
        if note.startswith("lines end"):
            out.append(Finding(
                "mta-sts.policy-line-endings", Status.INFO,
                f"The policy at {host}: {visible(note, 200)}",
                fix="Save the file with CRLF line endings (unix2dos mta-sts.txt).",
                side=Side.YOU, evidence=_fetch_evidence(facts)))
    if policy.max_age is not None and policy.max_age < MAX_AGE_RECOMMENDED:
        out.append(Finding(
            "mta-sts.max-age-short", Status.WARN,
            f"The MTA-STS policy is kept for only {policy.max_age} seconds",
            detail=("Senders cache the policy for max_age seconds; with less than a day, an "
                    "outage of the policy web server soon leaves mail unprotected, and an "
                    "attacker who blocks it for a while wins. RFC 8461 suggests weeks."),
            fix="Set max_age: 604800 (a week) or more, up to 31557600.",
            side=Side.YOU, evidence=_fetch_evidence(facts)))
    return out


def _mode_finding(facts: MtaStsFacts) -> Finding | None:
    policy = facts.policy
    if policy is None or not policy.valid or facts.record is None or not facts.record.valid:
        return None
    evidence = _record_evidence(facts) + _fetch_evidence(facts)
    if policy.mode == "enforce":
        return Finding("mta-sts.ok", Status.PASS,
                       f"MTA-STS is published for {facts.domain} in enforce mode",
                       detail=("Senders that support MTA-STS deliver to the listed MX hosts only, "
                               "over TLS with a certificate they can verify."),
                       evidence=evidence)
    if policy.mode == "testing":
        return Finding(
            "mta-sts.testing", Status.INFO, f"MTA-STS for {facts.domain} is in testing mode",
            detail=("Senders check the MX hosts against the policy and report failures (with "
                    "TLS-RPT), but deliver anyway: mail is not yet protected."),
            fix=("When the TLS-RPT reports show no failures for a few weeks, change the policy to "
                 "mode: enforce and change the id in the TXT record."),
            side=Side.NONE, evidence=evidence)
    return Finding("mta-sts.mode-none", Status.INFO,
                   f"The MTA-STS policy of {facts.domain} says mode: none",
                   detail="Senders treat the domain as having no policy (the way to retire one).",
                   side=Side.NONE, evidence=evidence)


def judge_mta_sts(facts: MtaStsFacts, mx_hosts: Sequence[str] = ()) -> list[Finding]:
    """Every MTA-STS finding that needs no SMTP visit; ``mx_hosts`` (when known) go into fixes."""
    domain = facts.domain
    if facts.txt.outcome.is_failure:
        problem = unanswered(facts.txt, f"the MTA-STS record of {domain}")
        return [problem] if problem else []
    fetched = facts.fetch is not None and facts.fetch.outcome is FetchOutcome.OK
    if not facts.records:
        if fetched and facts.policy is not None and facts.policy.valid:
            return [Finding(
                "mta-sts.record-missing", Status.WARN,
                f"An MTA-STS policy is published for {domain}, but no TXT record announces it",
                detail=("Senders look for the policy only when the _mta-sts TXT record exists, so "
                        "the policy file is never read and mail is not protected."),
                fix=txt_fix(domain), side=Side.YOU,
                evidence=_record_evidence(facts) + _fetch_evidence(facts))]
        return [Finding(
            "mta-sts.none", Status.INFO, f"{domain} publishes no MTA-STS policy",
            detail=("Without MTA-STS, a sender cannot tell whether TLS to your MX hosts should "
                    "work, so an attacker on the path can strip STARTTLS or present a fake "
                    "certificate and read the mail. Delivery itself is not affected."),
            fix=(txt_fix(domain) + "\n" + web_fix(domain, mx_hosts, "testing")),
            side=Side.NONE, evidence=_record_evidence(facts))]
    if len(facts.records) > 1:
        return [Finding(
            "mta-sts.record-multiple", Status.FAIL,
            f"{domain} has {len(facts.records)} MTA-STS TXT records",
            detail=("With more than one v=STSv1 record, senders must assume there is no policy "
                    "(RFC 8461 §3.1)."),
            fix="Keep exactly one:\n" + txt_fix(domain).split("\n", 1)[1],
            side=Side.YOU, evidence=_record_evidence(facts))]
    out: list[Finding] = []
    record = facts.record
    if record is not None and not record.valid:
        out.append(Finding(
            "mta-sts.record-invalid", Status.FAIL, f"The MTA-STS TXT record of {domain} is malformed",
            detail=("Senders ignore it, so the policy is never fetched: "
                    + "; ".join(visible(p, 200) for p in record.problems[:6]) + "."),
            fix=txt_fix(domain), side=Side.YOU, evidence=_record_evidence(facts)))
    failure = _fetch_failure(facts, mx_hosts)
    if failure is not None:
        out.append(failure)
    out += _policy_findings(facts, mx_hosts)
    mode = _mode_finding(facts)
    if mode is not None and not any(f.status is Status.FAIL for f in out):
        out.append(mode)
    return out


def enforcing(facts: MtaStsFacts | None) -> str:
    """The mode senders apply to ``facts`` ("enforce", "testing"), or "" for no usable policy."""
    if facts is None or facts.record is None or not facts.record.valid or facts.policy is None \
            or not facts.policy.valid or facts.policy.mode not in ("enforce", "testing"):
        return ""
    return facts.policy.mode or ""
