"""Every fact a diagnosis can know, under its typed key, and the facts that steps assemble.

A step declares the key of the fact it produces (``Step(MX, ...)``); rules read facts by key
(``facts[MX]`` is an :class:`~mxwizard.probes.mx.MxFacts`, ``facts.get(RDNS)`` a
:class:`~mxwizard.probes.reverse_dns.ReverseDns` or None), and the type checker holds both sides
to the same type. One module lists them all, so that a reader sees at a glance what the rules may
read, and a new check adds its keys here.

Most facts are what one probe returns. Some steps make several probe calls and keep the results
together; those bundles (:class:`SpfFacts`, :class:`MailWalk`, :class:`Rehearsal`...) are
defined here too, beside their keys: pure data, with no logic of the probes or the rules.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mxwizard.diagnosis.tree import FactKey
from mxwizard.probes.blocklists import BlocklistSweep
from mxwizard.probes.dkim import DkimKey, MessageCheck
from mxwizard.probes.dmarc import DmarcFacts
from mxwizard.probes.dns import Lookup
from mxwizard.probes.helo import HeloFacts
from mxwizard.probes.mx import MailRoute, MxFacts, MxHost
from mxwizard.probes.public_ip import PublicIp
from mxwizard.probes.resolver_health import ResolverSanity
from mxwizard.probes.reverse_dns import ReverseDns
from mxwizard.probes.smtp.session import Reply, SessionFacts
from mxwizard.probes.spf import SpfNode, SpfVerdict

if TYPE_CHECKING:  # the transport and checklist bundles (their modules import this one)
    from mxwizard.diagnosis.rules.checklist import SenderFacts
    from mxwizard.probes.dane import DaneFacts
    from mxwizard.probes.mta_sts import MtaStsFacts
    from mxwizard.probes.smtp.certificates import TransportFacts
    from mxwizard.probes.tls_rpt import TlsRptFacts

# --- what the steps assemble ---------------------------------------------------------------


def family(ip: str) -> int:
    """4 or 6: the address family of ``ip``, as the rules name it."""
    return ipaddress.ip_address(ip).version


@dataclass(frozen=True)
class Visit:
    """What one MX host did with our attempt to deliver (and the retry after greylisting)."""

    preference: int
    host: str
    ip: str
    first: SessionFacts
    retry: SessionFacts | None = None
    #: When the SMTP port timed out: what other ports of the host answered (see reachability).
    other_ports: dict[int, str] = field(default_factory=dict)
    #: The host's addresses of its other address family, visited too (dual-stack hosts only).
    alternates: tuple[Visit, ...] = ()

    @property
    def final(self) -> SessionFacts:
        """The session whose answer counts (the retry, if there was one)."""
        return self.retry or self.first

    @property
    def attempts(self) -> list[Visit]:
        """This visit and its alternates, one per address family, IPv6 first (as tried)."""
        return sorted((self, *self.alternates), key=lambda v: -family(v.ip))


@dataclass(frozen=True)
class MailWalk:
    """The SMTP visits of a receive check and the recipients they asked for."""

    visits: list[Visit]
    postmaster: str
    mailbox: str | None


@dataclass(frozen=True)
class Rehearsal:
    """The visits of the delivery rehearsal, in the order a sender makes them."""

    sender: str
    recipient: str
    helo: str
    visits: list[Visit]
    #: MX hosts beyond the SENDER_MX_HOSTS most preferred, never tried because none of those
    #: gave a final answer (a sender would queue the mail and try again later).
    left_out: int = 0


@dataclass(frozen=True)
class SpfFacts:
    """pyspf's verdicts and the record's include tree, for one sending address."""

    ip: str
    #: pyspf's verdict for the sending address; ``None`` when no address could be judged (the
    #: record itself is still linted: a broken record is broken whatever the address).
    mailfrom: SpfVerdict | None
    tree: SpfNode
    #: The verdict for the HELO identity, when the HELO name is known (``--helo``).
    helo: SpfVerdict | None = None
    #: Why ``mailfrom`` is missing (the reason of ``spf.not-evaluated``).
    not_evaluated: str = ""


@dataclass(frozen=True)
class DkimFacts:
    """The key under ``--dkim-selector`` and/or the signatures of ``--message``."""

    domain: str
    key: DkimKey | None = None
    message: MessageCheck | None = None
    #: Why the message file could not be read ("" when it was, or none was given).
    unreadable: str = ""


@dataclass(frozen=True)
class BlocklistFacts:
    """The sweeps of one diagnosis: the IP on the IP lists, the sender domain on domain lists."""

    ip: BlocklistSweep | None
    domain: BlocklistSweep | None = None


@dataclass(frozen=True)
class Variant:
    """One way of asking a server to relay."""

    label: str
    mail_from: str
    rcpt_to: str
    #: True for the plain forms: a yes to these is an open relay, not a parsing quirk.
    plain: bool


@dataclass(frozen=True)
class Attempt:
    """One relay variant and the server's answers to its MAIL FROM and RCPT TO."""

    variant: Variant
    mail: Reply | None
    rcpt: Reply | None


@dataclass
class RelayTest:
    """The whole relay test against one server."""

    host: str
    ip: str | None
    port: int
    lookup: Lookup | None = None
    session: SessionFacts | None = None
    attempts: list[Attempt] = field(default_factory=list)
    auth_required: Reply | None = None


# --- the keys --------------------------------------------------------------------------------

# The receive check.
#: The domain's MX records (or the A/AAAA fallback).
MX: FactKey[MxFacts] = FactKey("mx")
#: Each MX host with its addresses and their reverse DNS.
MX_HOSTS: FactKey[list[MxHost]] = FactKey("mx-hosts")
#: The SMTP visits of the MX hosts.
SMTP: FactKey[MailWalk] = FactKey("smtp")

# The send check.
#: The sending server's public address (given, or asked of an echo service).
IP: FactKey[PublicIp] = FactKey("ip")
#: The sender domain's MX: can it take replies?
SENDER_DOMAIN: FactKey[MailRoute] = FactKey("sender-domain")
#: The PTR of the sending address and its forward confirmation.
RDNS: FactKey[ReverseDns] = FactKey("rdns")
#: The HELO name and what it resolves to.
HELO: FactKey[HeloFacts] = FactKey("helo")
#: The blocklist sweeps.
DNSBL: FactKey[BlocklistFacts] = FactKey("dnsbl")
SPF: FactKey[SpfFacts] = FactKey("spf")
DKIM: FactKey[DkimFacts] = FactKey("dkim")
#: The DMARC record of the From domain.
DMARC: FactKey[DmarcFacts] = FactKey("dmarc")
#: Steps that observe nothing of their own and judge earlier facts together.
DMARC_ALIGNMENT: FactKey[None] = FactKey("dmarc-alignment")
IDENTITY: FactKey[None] = FactKey("identity")
#: The recipient domain's MX, for the delivery rehearsal.
RECIPIENT_MX: FactKey[MailRoute] = FactKey("recipient-mx")
#: The delivery rehearsal's visits.
DELIVERY: FactKey[Rehearsal] = FactKey("delivery")

# The relay check.
RELAY: FactKey[RelayTest] = FactKey("relay")

# Background facts: observed beside the steps, by no step of their own.
#: Whether the resolver is honest (the answer to the root's NS question); the runner asks it
#: as soon as a diagnosis first uses DNS (see :mod:`mxwizard.probes.resolver_health`).
RESOLVER_SANITY: FactKey[ResolverSanity] = FactKey("resolver-health")

# Transport security (receive) and the big providers' sender rules (send): the facts of
# mxwizard.diagnosis.plans.transport. Their bundles live with their probes and rules.
#: The MTA-STS TXT record and the policy fetched over HTTPS.
MTA_STS: FactKey[MtaStsFacts] = FactKey("mta-sts")
#: The TLS-RPT record.
TLS_RPT: FactKey[TlsRptFacts] = FactKey("tls-rpt")
#: DNSSEC status of the domain and its MX hosts, and the MX hosts' TLSA records.
DANE: FactKey[DaneFacts] = FactKey("dane")
#: The TLS of every visited MX host with its certificate chain verified.
TRANSPORT: FactKey[TransportFacts] = FactKey("transport")
#: What the providers' rules are judged on (earlier facts, and the headers of --message).
CHECKLIST: FactKey[SenderFacts] = FactKey("checklist")
