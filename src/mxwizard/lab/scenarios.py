"""The lab's scenarios: every FAQ situation, named, with the check that diagnoses it.

A scenario is teaching material (a trainer picks one and walks through it), a test fixture (the
suite runs each command and checks that the expected findings appear) and a benchmark input at
once. Each stores what the user would type: the check's inputs by field name (the fields of
:mod:`mxwizard.diagnosis.checks`) and the network options; the command line and the wizard's
form are both made from them. ``mxwizard lab list`` prints them; ``--json`` in the shape of
DESIGN.md §5.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mxwizard.core.schema import SCHEMA_VERSION
from mxwizard.diagnosis.checks import CHECKS, Check

if TYPE_CHECKING:
    from mxwizard.diagnosis.tree import Plan


@dataclass(frozen=True)
class Network:
    """A scenario's network options, as typed on the command line ("" when not given)."""

    #: ``--source-ip``: the lab's sending servers are loopback addresses the lab's mail hosts
    #: see the connection come from.
    source_ip: str = ""
    timeout: str = ""
    resolver: str = ""
    private_network: bool = False

    def args(self) -> list[str]:
        """The options on the command line."""
        words: list[str] = []
        for option, value in (("--source-ip", self.source_ip), ("--timeout", self.timeout),
                              ("--resolver", self.resolver)):
            if value:
                words += [option, value]
        if self.private_network:
            words.append("--private-network")
        return words


@dataclass(frozen=True)
class Scenario:
    """One situation of the lab."""

    name: str
    summary: str
    kind: str  # receive | send | relay
    #: The check's inputs as typed, by field name: the form's values and the command's words.
    inputs: dict[str, str]
    #: Finding ids the diagnosis must produce.
    expect: tuple[str, ...]
    network: Network = field(default_factory=Network)

    @property
    def check(self) -> Check:
        """The check that diagnoses it."""
        return CHECKS[self.kind]

    @property
    def args(self) -> tuple[str, ...]:
        """The words after ``mxwizard`` that diagnose it (always with ``--lab``)."""
        return (*self.check.command_line(self.inputs), *self.network.args(), "--lab")

    def plan(self) -> Plan:
        """The check's plan for the inputs (they are valid: the suite holds them to it)."""
        values, errors = self.check.parse(self.inputs)
        if errors:
            raise ValueError(f"scenario {self.name}: {errors}")
        return self.check.plan(values)


#: The lab's sample messages (signed with the lab's DKIM key for home.test), for --message.
MESSAGES = Path(__file__).resolve().parent / "messages"

#: The lab's lying resolver (lab/internet.py's LYING_RESOLVER; this module stays free of the
#: lab's heavy imports, since ``lab list`` reads it).
LYING_RESOLVER = "127.0.8.53"


def _receive(name: str, summary: str, domain: str, expect: tuple[str, ...], *,
             mailbox: str = "", timeout: str = "", resolver: str = "") -> Scenario:
    inputs = {"domain": domain, **({"mailbox": mailbox} if mailbox else {})}
    return Scenario(name, summary, "receive", inputs, expect,
                    Network(timeout=timeout, resolver=resolver))


def _send(name: str, summary: str, sender: str, ip: str, helo: str, expect: tuple[str, ...], *,
          to: str = "bob@strict.test", dkim_selector: str = "", message: str = "",
          private_network: bool = False) -> Scenario:
    inputs = {"sender": sender, "recipient": to, "ip": ip, "helo": helo,
              **({"dkim_selector": dkim_selector} if dkim_selector else {}),
              **({"message": str(MESSAGES / message)} if message else {})}
    # a lab sender on loopback connects from its own address, so the lab judges that address
    source_ip = ip if ip.startswith("127.") else ""
    return Scenario(name, summary, "send", inputs, expect,
                    Network(source_ip=source_ip, private_network=private_network))


def _relay(name: str, summary: str, host: str, expect: tuple[str, ...]) -> Scenario:
    return Scenario(name, summary, "relay", {"server": host}, expect)


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
             ("smtp.mailbox-unknown",), mailbox="nobody@users.test"),
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
          dkim_selector="mail"),
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
          "mail.home.test", ("dkim.no-key",), dkim_selector="missing"),
    _send("dkim-key-revoked", "The DKIM key was revoked (empty p=)", "alice@home.test", "127.0.1.10",
          "mail.home.test", ("dkim.key-revoked",), dkim_selector="revoked"),
    _send("dmarc-reject-unaligned", "DMARC p=reject and neither SPF nor DKIM aligns",
          "alice@dmarcfail.test", "127.0.1.10", "mail.home.test", ("spf.fail", "dmarc.unaligned")),
    _send("ip-behind-nat", "The server only knows its private address (behind NAT)",
          "alice@home.test", "192.168.1.20", "mail.home.test", ("ip.private",)),
    _send("intranet-private-network",
          "An intranet relay on a private address, checked with --private-network",
          "alice@intranet.test", "192.168.1.20", "relay.intranet.test",
          ("ip.ok", "rdns.ok", "helo.ok", "spf.pass", "delivery.accepted"), private_network=True,
          to="bob@intranet.test"),
    _send("port25-blocked", "Outbound port 25 is blocked: every MX times out", "alice@home.test",
          "127.0.1.10", "mail.home.test", ("port25.blocked",), to="bob@blackhole.test"),
    # Hostile mail hosts (lab/hostile.py): each check must end in time, with the bytes shown escaped.
    _receive("hostile-garbage", "The MX greets with binary garbage", "hostile-garbage.test",
             ("smtp.protocol-error",)),
    _receive("hostile-noeol", "The MX greeting never ends its line", "hostile-noeol.test",
             ("smtp.protocol-error",), timeout="3"),
    _receive("hostile-longline", "The MX greets with one 10 KB line", "hostile-longline.test",
             ("smtp.protocol-error",)),
    _receive("hostile-endless", "The MX answers EHLO with endless 250- lines", "hostile-endless.test",
             ("smtp.protocol-error", "smtp.untested")),
    _receive("hostile-drip", "The MX drips its greeting one byte at a time", "hostile-drip.test",
             ("smtp.protocol-error",), timeout="3"),
    _receive("hostile-cut", "The MX hangs up in the middle of a reply", "hostile-cut.test",
             ("smtp.protocol-error", "smtp.untested")),
    _receive("hostile-out-of-step", "The MX sends two replies to one command", "hostile-outofstep.test",
             ("smtp.protocol-error",)),
    _receive("hostile-unsolicited", "The MX talks out of turn between commands",
             "hostile-unsolicited.test", ("smtp.protocol-error",)),
    _receive("hostile-421", "The MX says 421 in the middle of the session and hangs up",
             "hostile-421.test", ("smtp.tempfail",)),
    _receive("hostile-starttls-silence", "The MX answers STARTTLS, then never starts TLS",
             "hostile-tlssilence.test", ("smtp.tls-failed", "smtp.untested"), timeout="3"),
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
             timeout="2"),
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
             "healthy.test", ("dns.resolver-broken",), resolver=LYING_RESOLVER),
    # Dual-stack MX hosts (internet.MAPPED_V6): IPv6 is tried first, as senders do.
    _receive("dual-stack", "The MX host takes mail over both IPv6 and IPv4", "dualstack.test",
             ("mx.ok", "smtp.accepts")),
    _receive("ipv6-unreachable", "The MX host's IPv6 address refuses connections; IPv4 works",
             "v6broken.test", ("smtp.ipv6-unreachable", "smtp.accepts")),
    # Transport security (lab/transport.py): certificates from the lab CA (trusted in lab mode
    # only), MTA-STS policies from the lab's web server, DANE on zones its DNS treats as signed.
    _receive("tls-trusted", "The MX presents a certificate from a trusted authority", "trusted.test",
             ("smtp.tls-certificate-ok",)),
    _receive("tls-expired", "The MX presents a certificate that expired yesterday", "expired.test",
             ("smtp.tls-certificate",)),
    _receive("tls-name-mismatch", "The MX presents a certificate for another name",
             "wrongname.test", ("smtp.tls-certificate",)),
    _receive("mta-sts-enforce", "MTA-STS in enforce mode, every MX listed, TLS-RPT published",
             "stsgood.test", ("mta-sts.ok", "mta-sts.mx-listed", "tls-rpt.ok",
                              "smtp.tls-certificate-ok")),
    _receive("mta-sts-self-signed", "MTA-STS enforce, but the MX certificate is self-signed",
             "selfsts.test", ("mta-sts.ok", "smtp.tls-certificate")),
    _receive("mta-sts-testing", "MTA-STS in testing mode: senders report, and deliver",
             "ststesting.test", ("mta-sts.testing",)),
    _receive("mta-sts-mx-missing", "The MTA-STS policy lists only one of the two MX hosts",
             "stsmiss.test", ("mta-sts.mx-not-listed",)),
    _receive("mta-sts-timeout", "The MTA-STS policy web server never answers", "ststimeout.test",
             ("mta-sts.fetch-timeout",), timeout="2"),
    _receive("mta-sts-404", "The MTA-STS policy web server answers 404", "sts404.test",
             ("mta-sts.policy-http-status",)),
    _receive("mta-sts-oversize", "The MTA-STS policy is larger than 64 KB", "stsbig.test",
             ("mta-sts.policy-too-large",)),
    _receive("mta-sts-redirect", "The MTA-STS policy URL redirects elsewhere", "stsredirect.test",
             ("mta-sts.policy-redirect",)),
    _receive("tls-rpt-malformed", "The TLS-RPT record sends reports to an http: address",
             "rptbad.test", ("tls-rpt.invalid",)),
    _receive("dane-match", "DNSSEC-signed, and the MX's DANE records match its certificate "
             "(MTA-STS and TLS-RPT too)",
             "dane.test", ("dnssec.signed", "dane.ok", "mta-sts.ok", "mta-sts.mx-listed",
                           "tls-rpt.ok", "smtp.tls-certificate-ok")),
    _receive("dane-mismatch", "The MX's DANE record names a key it no longer has", "danebad.test",
             ("dnssec.signed", "dane.mismatch")),
    _receive("dnssec-bogus", "DNSSEC validation fails: validating resolvers answer SERVFAIL",
             "bogus.test", ("dnssec.bogus",)),
    # The big providers' sender rules, with the lab's sample messages (lab/messages).
    _send("bulk-sender-ready", "A bulk sender meeting every rule of Gmail, Yahoo and Outlook.com",
          "alice@home.test", "127.0.1.10", "mail.home.test",
          ("checklist.gmail", "checklist.yahoo", "checklist.microsoft", "message.unsubscribe-ok"),
          dkim_selector="mail", message="bulk-ready.eml"),
    _send("bulk-sender-no-unsubscribe", "A bulk sender whose mail has no unsubscribe headers",
          "alice@home.test", "127.0.1.10", "mail.home.test",
          ("message.unsubscribe-missing", "checklist.gmail"),
          dkim_selector="mail", message="bulk-no-unsubscribe.eml"),
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
        data = [{"schema": SCHEMA_VERSION, "name": s.name, "summary": s.summary, "kind": s.kind,
                 "args": list(s.args), "expect": list(s.expect)} for s in SCENARIOS]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    width = max(len(s.name) for s in SCENARIOS)
    lines = [f"{'SCENARIO':{width}}  KIND     WHAT IT SHOWS", f"{'':{width}}  {'':8} mxwizard ..."]
    for s in SCENARIOS:
        lines.append(f"{s.name:{width}}  {s.kind:8} {s.summary}")
        lines.append(f"{'':{width}}  {'':8} mxwizard {' '.join(s.args)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
