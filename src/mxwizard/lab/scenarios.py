"""The lab's scenarios: every FAQ situation, named, with the command that diagnoses it.

A scenario is teaching material (a trainer picks one and walks through it), a test fixture (the
suite runs each command and checks that the expected findings appear) and a benchmark input at
once. ``mxwizard lab list`` prints them; ``--json`` in the shape of DESIGN.md §5.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Scenario:
    """One situation of the lab."""

    name: str
    summary: str
    kind: str  # receive | send | relay
    #: The arguments after ``mxwizard`` that diagnose it (always with ``--lab``).
    args: tuple[str, ...]
    #: Finding ids the diagnosis must produce.
    expect: tuple[str, ...]


#: The lab's lying resolver (lab/internet.py's LYING_RESOLVER; this module stays free of the
#: lab's heavy imports, since ``lab list`` reads it).
LYING_RESOLVER = "127.0.8.53"


def _receive(name: str, summary: str, domain: str, expect: tuple[str, ...],
             *extra: str) -> Scenario:
    return Scenario(name, summary, "receive", ("check", "receive", domain, *extra, "--lab"), expect)


def _send(name: str, summary: str, sender: str, ip: str, helo: str, expect: tuple[str, ...],
          *extra: str, to: str = "bob@strict.test") -> Scenario:
    args: tuple[str, ...] = ("check", "send", "--from", sender, "--to", to, "--ip", ip, "--helo", helo)
    if ip.startswith("127."):
        args += ("--source-ip", ip)
    return Scenario(name, summary, "send", (*args, *extra, "--lab"), expect)


def _relay(name: str, summary: str, host: str, expect: tuple[str, ...]) -> Scenario:
    return Scenario(name, summary, "relay", ("check", "relay", host, "--lab"), expect)


SCENARIOS: tuple[Scenario, ...] = (
    _receive("healthy-domain", "A domain with two working MX hosts", "healthy.test",
             ("mx.ok", "mx.host-ok", "mx.rdns-ok", "smtp.accepts")),
    _receive("domain-nxdomain", "The domain does not exist", "doesnotexist.test", ("domain.nxdomain",)),
    _receive("no-mx-a-fallback", "No MX records; senders fall back to the A record", "nomx.test",
             ("mx.none", "smtp.accepts")),
    _receive("no-mx-no-address", "No MX records and no address at all", "nowhere.test",
             ("mx.none-no-address",)),
    _receive("null-mx", "A null MX: the domain accepts no mail", "nullmx.test", ("mx.null",)),
    _receive("mx-ip-literal", "The MX record names an IP address", "iplit.test", ("mx.ip-literal",)),
    _receive("mx-dangling", "The MX host name does not exist", "dangling.test", ("mx.dangling",)),
    _receive("mx-private-address", "The MX host has a private address senders cannot reach",
             "privatemx.test", ("mx.private-address", "smtp.not-checked")),
    _receive("mx-cname", "The MX host is an alias (CNAME)", "cnamemx.test", ("mx.cname", "smtp.accepts")),
    _receive("primary-mx-down", "The primary MX refuses connections; the backup works", "backup.test",
             ("smtp.connect-refused", "smtp.fallback-used")),
    _receive("backup-mx-rejects-domain", "The backup MX does not accept the domain", "badbackup.test",
             ("smtp.backup-mx-rejects-domain",)),
    _receive("domain-not-accepted", "The MX host is missing the domain from its accepted domains",
             "notaccepted.test", ("smtp.domain-not-accepted",)),
    _receive("unknown-mailbox", "The mailbox does not exist", "users.test",
             ("smtp.mailbox-unknown",), "--mailbox", "nobody@users.test"),
    _receive("greylisting", "The MX greylists: 450 first, accepted on retry", "greylist.test",
             ("smtp.greylisted",)),
    _receive("banner-554", "The MX greets with 554: it refuses everyone", "banner554.test",
             ("smtp.banner-reject",)),
    _receive("no-starttls", "The MX does not offer STARTTLS", "notls.test", ("smtp.starttls-missing",)),
    _receive("banner-mismatch", "The MX greets with a name that is not its reverse DNS",
             "mismatch.test", ("smtp.banner-mismatch",)),
    _receive("all-mx-unreachable", "Every MX host times out", "blackhole.test",
             ("smtp.connect-timeout", "smtp.unreachable")),
    _relay("open-relay", "A server that relays mail for anyone", "relay.open.test", ("relay.open",)),
    _relay("closed-relay", "A server that refuses to relay", "mx1.healthy.test", ("relay.closed",)),
    _send("healthy-sender", "A sender with PTR, HELO, SPF, DKIM and DMARC in order",
          "alice@home.test", "127.0.1.10", "mail.home.test",
          ("rdns.ok", "helo.ok", "spf.pass", "dkim.ok", "delivery.accepted"),
          "--dkim-selector", "mail"),
    _send("sender-no-ptr", "The sending IP has no reverse DNS", "alice@nordns.test", "127.0.1.11",
          "mail.nordns.test", ("rdns.missing", "delivery.deferred")),
    _send("ptr-not-confirmed", "The PTR name does not resolve back to the IP", "alice@noconfirm.test",
          "127.0.1.12", "mail.noconfirm.test", ("rdns.fcrdns-fail", "delivery.deferred")),
    _send("generic-ptr", "The PTR looks like a dynamic home connection", "alice@dynamic.test",
          "127.0.1.13", "127-0-1-13.dyn.isp.test", ("rdns.generic",)),
    _send("helo-localhost", "The server says HELO localhost", "alice@home.test", "127.0.1.10",
          "localhost", ("helo.internal", "delivery.rejected")),
    _send("helo-matches-nothing", "The HELO name does not resolve", "alice@home.test", "127.0.1.10",
          "nothing.home.test", ("helo.unresolvable",)),
    _send("sender-blocklisted", "The sending IP is on a blocklist", "alice@listed.test", "127.0.1.14",
          "mail.listed.test", ("dnsbl.listed", "delivery.rejected")),
    _send("spf-fail", "SPF does not authorise the sending IP", "alice@spffail.test", "127.0.1.10",
          "mail.home.test", ("spf.fail",)),
    _send("spf-too-many-lookups", "The SPF record needs more than 10 DNS lookups",
          "alice@spflimit.test", "127.0.1.10", "mail.home.test", ("spf.permerror",)),
    _send("dkim-key-missing", "No DKIM key under the selector", "alice@home.test", "127.0.1.10",
          "mail.home.test", ("dkim.no-key",), "--dkim-selector", "missing"),
    _send("dkim-key-revoked", "The DKIM key was revoked (empty p=)", "alice@home.test", "127.0.1.10",
          "mail.home.test", ("dkim.key-revoked",), "--dkim-selector", "revoked"),
    _send("dmarc-reject-unaligned", "DMARC p=reject and neither SPF nor DKIM aligns",
          "alice@dmarcfail.test", "127.0.1.10", "mail.home.test", ("spf.fail", "dmarc.unaligned")),
    _send("ip-behind-nat", "The server only knows its private address (behind NAT)",
          "alice@home.test", "192.168.1.20", "mail.home.test", ("ip.private",)),
    _send("intranet-private-network",
          "An intranet relay on a private address, checked with --private-network",
          "alice@intranet.test", "192.168.1.20", "relay.intranet.test",
          ("ip.ok", "rdns.ok", "helo.ok", "spf.pass", "delivery.accepted"), "--private-network",
          to="bob@intranet.test"),
    _send("port25-blocked", "Outbound port 25 is blocked: every MX times out", "alice@home.test",
          "127.0.1.10", "mail.home.test", ("port25.blocked",), to="bob@blackhole.test"),
    # Hostile mail hosts (lab/hostile.py): each check must end in time, with the bytes shown escaped.
    _receive("hostile-garbage", "The MX greets with binary garbage", "hostile-garbage.test",
             ("smtp.protocol-error",)),
    _receive("hostile-noeol", "The MX greeting never ends its line", "hostile-noeol.test",
             ("smtp.protocol-error",), "--timeout", "3"),
    _receive("hostile-longline", "The MX greets with one 10 KB line", "hostile-longline.test",
             ("smtp.protocol-error",)),
    _receive("hostile-endless", "The MX answers EHLO with endless 250- lines", "hostile-endless.test",
             ("smtp.protocol-error", "smtp.untested")),
    _receive("hostile-drip", "The MX drips its greeting one byte at a time", "hostile-drip.test",
             ("smtp.protocol-error",), "--timeout", "3"),
    _receive("hostile-cut", "The MX hangs up in the middle of a reply", "hostile-cut.test",
             ("smtp.protocol-error", "smtp.untested")),
    _receive("hostile-out-of-step", "The MX sends two replies to one command", "hostile-outofstep.test",
             ("smtp.protocol-error",)),
    _receive("hostile-unsolicited", "The MX talks out of turn between commands",
             "hostile-unsolicited.test", ("smtp.protocol-error",)),
    _receive("hostile-421", "The MX says 421 in the middle of the session and hangs up",
             "hostile-421.test", ("smtp.tempfail",)),
    _receive("hostile-starttls-silence", "The MX answers STARTTLS, then never starts TLS",
             "hostile-tlssilence.test", ("smtp.tls-failed", "smtp.untested"), "--timeout", "3"),
    _receive("hostile-tls-garbage", "The MX answers STARTTLS, then sends garbage instead of TLS",
             "hostile-tlsgarbage.test", ("smtp.tls-failed", "smtp.untested")),
    _receive("hostile-not-utf8", "The MX replies with bytes that are not UTF-8", "hostile-binary.test",
             ("smtp.protocol-error",)),
    _receive("hostile-markup", "The MX hides Textual markup and a click action in its replies",
             "hostile-markup.test", ("smtp.mailbox-unknown",)),
    _receive("hostile-escapes", "The MX hides terminal control sequences in its replies",
             "hostile-escapes.test", ("smtp.protocol-error",)),
    _receive("hostile-huge-ehlo", "The MX answers EHLO with 5,000 lines", "hostile-bigehlo.test",
             ("smtp.protocol-error", "smtp.untested")),
    _relay("hostile-relay-garbage", "The relay test meets a server that does not speak SMTP",
           "127.0.4.1", ("smtp.protocol-error",)),
    _relay("hostile-relay-huge-ehlo", "The relay test meets a 5,000-line EHLO", "127.0.4.15",
           ("relay.untested",)),
    # Hostile mail hosts that attack the bounds of a check (the slow and trickling hosts are
    # checked by tests/test_bounds_smtp.py with --timeout 2: each takes its whole budget).
    _receive("hostile-flood", "The MX follows every reply with 5,000 extra lines",
             "hostile-flood.test", ("smtp.protocol-error", "smtp.untested")),
    _relay("hostile-relay-flood", "The relay test meets a server that floods every reply",
           "127.0.4.16", ("smtp.protocol-error", "relay.untested")),
    _receive("hostile-many-mx", "Forty MX records: only the ten most preferred are visited",
             "hostile-many.test", ("smtp.hosts-left-out", "smtp.accepts")),
    # DNS faults (internet.DNS_FAULTS and the dns-*.test zones): each told apart from the others.
    _receive("dns-servfail", "The domain's DNS answers SERVFAIL", "dns-servfail.test", ("dns.servfail",)),
    _receive("dns-no-answer", "The domain's DNS never answers", "dns-drop.test", ("dns.no-answer",),
             "--timeout", "2"),
    _receive("dns-slow", "The domain's DNS answers slowly, but in time", "dns-slow.test",
             ("mx.ok", "smtp.accepts")),
    _receive("dns-servfail-mx-host", "The MX host's address lookup fails (SERVFAIL)",
             "dns-servfail-host.test", ("dns.servfail",)),
    _receive("dns-truncated", "The MX answer is too big for UDP: the lookup retries over TCP",
             "dns-truncated.test", ("mx.ok", "smtp.accepts")),
    _receive("dns-nodata", "The domain exists but has no MX (NODATA, not NXDOMAIN)", "dns-nodata.test",
             ("mx.none", "smtp.accepts")),
    _receive("dns-cname-loop", "The MX host name is a CNAME loop", "dns-cnameloop.test",
             ("mx.dangling",)),
    _receive("dns-evil-ptr", "The MX host's reverse DNS name carries control characters",
             "dns-evilptr.test", ("mx.rdns-mismatch",)),
    # A lying resolver (internet.LYING_RESOLVER): a captive portal's "no such name" for everything.
    _receive("resolver-lies", "The resolver says 'no such name' for every name, even the root",
             "healthy.test", ("dns.resolver-broken",), "--resolver", LYING_RESOLVER),
    # Dual-stack MX hosts (internet.MAPPED_V6): IPv6 is tried first, as senders do.
    _receive("dual-stack", "The MX host takes mail over both IPv6 and IPv4", "dualstack.test",
             ("mx.ok", "smtp.accepts")),
    _receive("ipv6-unreachable", "The MX host's IPv6 address refuses connections; IPv4 works",
             "v6broken.test", ("smtp.ipv6-unreachable", "smtp.accepts")),
)


def find(name: str) -> Scenario:
    """The scenario called ``name`` (KeyError if there is none)."""
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)


def print_scenarios(as_json: bool) -> int:
    """``mxwizard lab list``: a table, or JSON in the shape of DESIGN.md §5."""
    if as_json:
        data = [{**asdict(s), "args": list(s.args), "expect": list(s.expect)} for s in SCENARIOS]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    width = max(len(s.name) for s in SCENARIOS)
    lines = [f"{'SCENARIO':{width}}  KIND     WHAT IT SHOWS", f"{'':{width}}  {'':8} mxwizard ..."]
    for s in SCENARIOS:
        lines.append(f"{s.name:{width}}  {s.kind:8} {s.summary}")
        lines.append(f"{'':{width}}  {'':8} mxwizard {' '.join(s.args)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
