"""The whole set of real peers: started in dependency order, stopped in reverse, always.

Order: key material (openssl, opendkim-genkey), the lab's authoritative DNS server with the
fixture zones (it must carry the DKIM key), an honest unbound that stubs to it and a lying
unbound, postgrey and the OpenDKIM milter (Postfix refers to both), then one Postfix with an
smtpd service per mail host. Each is waited for until it really answers (a DNS query with the
expected rcode, a 220 banner), never for a fixed time, and an ExitStack stops whatever was
started, in reverse order, however the session ends (a failing test, a failing start, Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.rcode

from .keys import DkimKey, Pki, make_dkim_key, make_pki
from .network import AddressPlan, claim_block, common_free_port, free_port
from .observe import Report
from .processes import run
from .servers import (
    LabDnsThread,
    Postfix,
    missing_programs,
    postfix_services,
    start_opendkim,
    start_postgrey,
    start_unbound,
    unbound_config,
)
from .zones import DKIM_SELECTOR, GREY, HELO, SENDER, STRICT, TLS, parsed_zones

#: A test's handle on mxwizard: ``check(*args, resolver=None) -> Report``.
Check = Callable[..., Report]

PROGRAMS = ("postfix", "postgrey", "unbound", "unbound-checkconf", "opendkim", "opendkim-genkey",
            "swaks", "dig", "openssl", "unshare", "mount")
#: postgrey's delay: shorter than mxwizard's wait before its retry (3 s), so the retry passes.
GREYLIST_DELAY = 2


@dataclass
class Peers:
    """The running peers: where they listen and what the tests need to know about them."""

    plan: AddressPlan
    directory: Path
    smtp_port: int
    dns: LabDnsThread
    postfix: Postfix
    pki: Pki
    dkim: DkimKey

    @property
    def resolver(self) -> str:
        """The honest unbound, as mxwizard's --resolver wants it (port 53)."""
        return self.plan.resolver

    @property
    def liar(self) -> str:
        """The lying unbound (port 53)."""
        return self.plan.liar


def cannot_run() -> str:
    """Why the real peers cannot run on this machine ("" when they can)."""
    if os.geteuid() != 0:
        return "the real-peer tests need root (Postfix, port 53, mount namespaces)"
    missing = missing_programs(PROGRAMS)
    if missing:
        return ("not installed: " + ", ".join(missing) + " (apt-get install postfix postgrey "
                "unbound opendkim opendkim-tools swaks bind9-dnsutils openssl)")
    probe = run(["unshare", "--mount", "true"], check=False, timeout=10)
    if probe.returncode != 0:
        return f"unshare --mount does not work here: {probe.stderr.decode(errors='replace').strip()}"
    return ""


def _private_parent() -> str | None:
    """Where the run's directory goes: /run, because OpenDKIM refuses a configuration or key
    file below a directory that others can write ("/tmp can be read or written by other
    users"); the default temporary directory only where /run is unfit."""
    run_dir = Path("/run")
    if run_dir.is_dir() and os.access(run_dir, os.W_OK) and not run_dir.stat().st_mode & 0o022:
        return str(run_dir)
    return None


@contextlib.contextmanager
def running_peers(keep: bool = False) -> Iterator[Peers]:
    """Start every peer, yield them, stop them all; ``keep`` leaves the run's directory behind."""
    system_resolv = Path("/etc/resolv.conf").read_bytes()
    directory = Path(tempfile.mkdtemp(prefix="mxwizard-realpeers-", dir=_private_parent()))
    directory.chmod(0o755)  # postgrey, nobody and postfix must reach their own directories
    with contextlib.ExitStack() as stack:
        if not keep:
            stack.callback(shutil.rmtree, directory, ignore_errors=True)
        plan, lock = claim_block()
        stack.callback(lock.close)
        pki = make_pki(directory / "pki", ("mx.tls.real.test",))
        dkim = make_dkim_key(directory / "dkim", SENDER, DKIM_SELECTOR)

        lab_dns = LabDnsThread(parsed_zones(plan, dkim.public_key), plan.authority)
        stack.callback(lab_dns.stop)
        authority_port = lab_dns.start()

        honest = start_unbound("unbound", unbound_config(directory / "unbound", plan.resolver,
                                                         stub=(plan.authority, authority_port)),
                               plan.resolver, "ns.real.test", dns.rcode.NOERROR)
        stack.callback(honest.stop)
        liar = start_unbound("lying unbound", unbound_config(directory / "liar", plan.liar, stub=None),
                             plan.liar, "ns.real.test", dns.rcode.NXDOMAIN)
        stack.callback(liar.stop)

        postgrey_port = free_port(plan.postgrey)
        grey = start_postgrey(directory / "postgrey", plan.postgrey, postgrey_port, GREYLIST_DELAY)
        stack.callback(grey.stop)
        milter_port = free_port(plan.opendkim)
        milter = start_opendkim(directory / "opendkim", plan.opendkim, milter_port, domain=SENDER,
                                selector=DKIM_SELECTOR, key=dkim.private_key)
        stack.callback(milter.stop)

        smtp_port = common_free_port(plan.smtp_hosts())
        services = postfix_services(plan, postgrey=f"{plan.postgrey}:{postgrey_port}",
                                    milter=f"{plan.opendkim}:{milter_port}",
                                    tls_chain=(pki.server_key, pki.server_cert))
        mailboxes = [f"{user}@{domain}" for domain in (STRICT, GREY, TLS, HELO)
                     for user in ("postmaster", "bob")] + [f"someone@{GREY}"]
        postfix = Postfix(directory / "postfix", plan, smtp_port, services, mailboxes)
        stack.callback(postfix.stop)
        postfix.start()
        if Path("/etc/resolv.conf").read_bytes() != system_resolv:
            raise RuntimeError("the system's /etc/resolv.conf changed: the bind mount leaked out "
                               "of Postfix's mount namespace")

        yield Peers(plan, directory, smtp_port, lab_dns, postfix, pki, dkim)
