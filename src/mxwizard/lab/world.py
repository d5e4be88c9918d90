"""Starting and stopping the whole lab: its DNS server and its mail hosts, in the running loop.

``running_lab()`` is what ``--lab`` (for ``check`` and the TUI) and the tests use; ``lab serve``
runs the same thing in the foreground. A :class:`World` knows where everything listens and can
point a :class:`~mxwizard.core.settings.Settings` at itself.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import dns.zone

from mxwizard.core.settings import Settings
from mxwizard.lab import LAB_DNS_PORT, LAB_HTTPS_PORT, LAB_SMTP_PORT
from mxwizard.lab.dns_server import LabDnsServer
from mxwizard.lab.hostile import HostileSmtp
from mxwizard.lab.https import LabHttps
from mxwizard.lab.internet import (
    DNS_FAULTS,
    DNSBL_ZONE,
    HOSTS,
    LAB_NETWORK,
    LYING_RESOLVER,
    WHOAMI_DEFAULT,
    WHOAMI_NAME,
    whoami_map,
    zone_texts,
)
from mxwizard.lab.pki import write_ca_file
from mxwizard.lab.scenarios import SCENARIOS, Scenario
from mxwizard.lab.smtp_hosts import HostSpec, LabSmtp
from mxwizard.lab.transport import BOGUS_ZONES, SIGNED_ZONES


@dataclass
class World:
    """A running lab."""

    dns_server: LabDnsServer
    smtp: LabSmtp
    dns_addr: str
    dns_port: int
    smtp_port: int
    hosts: tuple[HostSpec, ...] = HOSTS
    scenarios: tuple[Scenario, ...] = SCENARIOS
    dnsbl_zone: str = DNSBL_ZONE
    whoami_name: str = WHOAMI_NAME
    #: Notes on ports the lab had to move from its documented ones (empty when it did not).
    moved: tuple[str, ...] = ()
    #: The hostile mail hosts (lab/hostile.py), on the same port as the others.
    hostile: HostileSmtp | None = None
    #: The lying resolver ("no such name" for every question) and where it listens.
    liar: LabDnsServer | None = None
    liar_addr: str = LYING_RESOLVER
    liar_port: int = 0
    #: The MTA-STS policy web server (lab/https.py) and its port.
    https: LabHttps | None = None
    https_port: int = 443
    #: The lab CA's certificate as a file: what ``--ca-file`` would name (lab mode trusts it).
    ca_file: str | None = None

    def resolver_for(self, asked: tuple[str, int] | None) -> tuple[str, int]:
        """The lab resolver to use: the lying one when ``--resolver`` names its address (any
        port: in-process labs pick free ports), else the lab's DNS server."""
        if asked is not None and self.liar is not None and asked[0] == self.liar_addr:
            return (self.liar_addr, self.liar_port)
        return (self.dns_addr, self.dns_port)

    def point(self, settings: Settings) -> Settings:
        """``settings`` aimed at the lab: its resolver, its SMTP port and its blocklist (unless
        the user chose blocklists). The lab is a private network the user controls, so its
        loopback addresses stand for public ones, and its DNS server's whoami name says which
        address a client comes from: explicit policy, not a lab switch in the rules."""
        return settings.with_changes(
            resolver=self.resolver_for(settings.resolver),
            smtp_port=self.smtp_port,
            dnsbl_zones=settings.dnsbl_zones or (self.dnsbl_zone,),
            own_networks=tuple(dict.fromkeys((*settings.own_networks, LAB_NETWORK))),
            whoami_name=self.whoami_name,
            # the lab's own CA is trusted in lab mode only (a --ca-file of the user's wins)
            ca_file=settings.ca_file or self.ca_file,
            https_port=self.https_port,
        )

    def fresh_run(self) -> None:
        """A new run begins (the wizard calls this before each check): the lab forgets what its
        hosts learnt from earlier runs, so every lesson behaves the same every time."""
        self.smtp.forget()

    def host(self, name: str) -> HostSpec:
        """The mail host called ``name``."""
        return next(h for h in self.hosts if h.name == name)


def lab_zones() -> list[dns.zone.Zone]:
    """The lab's zones parsed from their zone-file text.

    Parsed once per process: the text never changes while it runs (the TLSA records come from
    the process's lab CA, made once too), and every ``--lab`` run and every test's lab starts
    from them. The zones are shared, so treat them as read-only: :class:`LabDnsServer` copies
    their records into an index of its own when it is built (``load_zones`` takes new zones)."""
    return list(_parsed_zones())


@functools.lru_cache(maxsize=1)
def _parsed_zones() -> tuple[dns.zone.Zone, ...]:
    return tuple(dns.zone.from_text(text, origin=f"{origin.rstrip('.')}.", relativize=False)
                 for origin, text in zone_texts())


class LabPortTaken(OSError):
    """A port asked for explicitly is in use: the message names it and the option to change."""


async def _start_on(start: Callable[[int], Awaitable[int]], port: int | None, documented: int,
                    what: str, moved: list[str], option: str = "") -> int:
    """Start a server on ``port``; ``None`` means the documented port, or — when something
    else holds it — a free one, with a note saying so (shown wherever the lab is shown)."""
    if port is not None:
        try:
            return await start(port)
        except OSError as exc:
            if not port:
                raise
            raise LabPortTaken(f"{what} port {port} is not available ({exc.strerror or exc}); "
                               f"choose another with {option}") from exc
    try:
        return await start(documented)
    except OSError:
        bound = await start(0)
        moved.append(f"{what} port {documented} was taken, so the lab uses {bound}")
        return bound


@asynccontextmanager
async def running_lab(
    latency_ms: float = 0,
    dns_addr: str = "127.0.0.1",
    dns_port: int | None = None,
    smtp_port: int | None = None,
    zones: list[dns.zone.Zone] | None = None,
    https_port: int | None = None,
) -> AsyncIterator[World]:
    """Start the lab, yield it, and stop it cleanly.

    Ports (DNS, SMTP, the policy web server's HTTPS): ``None`` (the default) binds the
    documented ports when they are free and says in :attr:`World.moved` when it had to move; 0
    picks free ports (what ``MXWIZARD_LAB_PORTS=free`` asks for: the command line and the wizard
    pass it on, see :func:`mxwizard.core.config.lab_ports`); a number binds exactly that.
    Every address and port the lab shows is one that really answers now. ``latency_ms`` delays
    every DNS answer, every SMTP reply and every answer of the policy web server.

    ``zones`` are the parsed zones if the caller already has them (the TUI parses them in a
    thread, so that starting the lab never freezes the screen)."""
    moved: list[str] = []
    dns_server = LabDnsServer(
        zones if zones is not None else lab_zones(), latency_ms=latency_ms,
        whoami_name=WHOAMI_NAME, whoami=whoami_map(),
        whoami_default=WHOAMI_DEFAULT, faults=DNS_FAULTS, root_apex_only=True,
        signed=SIGNED_ZONES, bogus=BOGUS_ZONES,
    )
    bound_dns = await _start_on(lambda port: dns_server.start(dns_addr, port), dns_port,
                                LAB_DNS_PORT, "the DNS", moved, "--dns-port")
    liar = LabDnsServer([], latency_ms=latency_ms, lies=True)
    smtp = LabSmtp(HOSTS, resolver=(dns_addr, bound_dns), dnsbl_zone=DNSBL_ZONE,
                   latency_ms=latency_ms)
    hostile = HostileSmtp()
    https = LabHttps(latency_ms=latency_ms)
    ca_directory = tempfile.TemporaryDirectory(prefix="mxwizard-lab-ca-")
    try:
        try:  # the lying resolver on the DNS server's port number, if it is free there too
            bound_liar = await liar.start(LYING_RESOLVER, bound_dns)
        except OSError:
            bound_liar = await liar.start(LYING_RESOLVER, 0)
        bound_smtp = await _start_on(smtp.start, smtp_port, LAB_SMTP_PORT, "the SMTP", moved,
                                     "--smtp-port")
        await hostile.start(bound_smtp)
        bound_https = await _start_on(https.start, https_port, LAB_HTTPS_PORT, "the HTTPS", moved)
    except BaseException:
        await https.close()
        await hostile.close()
        await smtp.close()
        await liar.close()
        await dns_server.close()
        ca_directory.cleanup()
        raise
    try:
        yield World(dns_server, smtp, dns_addr, bound_dns, bound_smtp, hostile=hostile,
                    liar=liar, liar_port=bound_liar, moved=tuple(moved), https=https,
                    https_port=bound_https, ca_file=write_ca_file(ca_directory.name))
    finally:
        await https.close()
        await hostile.close()
        await smtp.close()
        await liar.close()
        await dns_server.close()
        ca_directory.cleanup()
