"""The probe's own vantage point: refusals aimed at the tester, not at the server under test.

A receiving server judges every client before it judges the mail: is the client's address on a
blocklist, does it have reverse DNS, is its HELO name real, does it connect too often. When the
server refuses *our test connection* for one of those reasons, the refusal says something about
where we test from, and nothing about whether the server takes mail for its domain. Reporting
it as the domain's fault would blame a healthy server for the tester's address, so such a
refusal becomes "could not test from here" (side: the network we test from), with what it means
for real senders. The reply's class comes from the same knowledge base that explains bounces.
"""

from __future__ import annotations

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.untrusted import visible
from mxwizard.knowledge.bounces import BLOCKED_IP, RATE_LIMITED, RDNS_OR_HELO
from mxwizard.knowledge.replies import ReplyMeaning, meaning
from mxwizard.probes.smtp.session import Reply

#: Reply classes that are about the connecting client, and what each says about it.
CLIENT_CLASSES = {
    BLOCKED_IP: ("our test address is on a blocklist it uses, or has a poor reputation there",
                   "checks each client's address against blocklists"),
    RDNS_OR_HELO: ("it does not accept the reverse DNS name of our test address, or our test "
                     "HELO name", "checks each client's reverse DNS and HELO name"),
    RATE_LIMITED: ("it limits how often our test address may connect or send",
                     "limits how often one address may connect or send"),
}


def refusal_of_probe(reply: Reply | None) -> ReplyMeaning | None:
    """The reply's meaning when it refuses (4yz or 5yz) our client rather than the mail."""
    if reply is None or reply.positive:
        return None
    info = meaning(reply.code, reply.text)
    return info if info.bounce_class in CLIENT_CLASSES else None


def tested_from(source_ip: str | None) -> str:
    """Where the test came from, in words."""
    return f"our test address {source_ip}" if source_ip else "the address this machine tests from"


def probe_refused(host: str, reply: Reply, info: ReplyMeaning, source_ip: str | None,
                  about: str, evidence: tuple[str, ...], finding_id: str = "smtp.probe-refused",
                  status: Status = Status.WARN) -> Finding:
    """"Could not test from here": the finding for a refusal aimed at the tester.

    ``about`` names what could not be tested ("whether it accepts mail for example.org")."""
    why, practice = CLIENT_CLASSES[info.bounce_class or ""]
    said = visible(f"{reply.code} {reply.text}", 200)
    return Finding(
        finding_id, status, f"Could not test from here: {host} refused {tested_from(source_ip)}",
        detail=(f"It answered '{said}': {why}. That refusal is about where we test from, not "
                f"about the server, so {about} could not be tested from here, and this is not "
                f"counted against it. What it shows: the server {practice}, so real senders "
                "must pass that check too (a sending server with a clean static address, "
                "matching reverse DNS and a real HELO name does)."),
        fix=("Run the check from another place: a server with a clean static address and "
             "reverse DNS (or choose the local address with --source-ip), or ask the server's "
             "administrator to look up this attempt in the mail log."),
        side=Side.NETWORK, evidence=evidence)
