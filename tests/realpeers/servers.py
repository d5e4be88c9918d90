"""Configuring and starting the real peers: the lab DNS server, unbound, postgrey, OpenDKIM, Postfix.

Each configuration is written from scratch into the run's directory; nothing under /etc is read
for configuration or written (postgrey reads Debian's stock whitelists, on purpose: that is the
behaviour a Debian postmaster gets). Postfix resolves through libc, which reads /etc/resolv.conf
and cannot be given a port, so it runs in a private mount namespace where a temporary
resolv.conf naming our unbound is bind-mounted over the system's file; the system file itself is
never touched (the bind mount is private to that namespace and dies with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import textwrap
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.zone

from mxwizard.lab.dns_server import LabDnsServer

from .network import AddressPlan, pid_alive, smtp_banner, tcp_answers, wait_for
from .processes import Daemon, run, run_with_tty
from .zones import BLOCKLIST, GREY, HELO, OUTBOX, STRICT, TLS

#: How long any one server may take to come up before the fixture gives up with its log.
START_TIMEOUT = 20.0


# ------------------------------------------------------------------ the lab's authoritative DNS


class LabDnsThread:
    """mxwizard's LabDnsServer on its own event loop in a background thread.

    The tests run mxwizard in-process, and it starts and ends its own event loop per command;
    a server that must outlive every command lives on a loop of its own.
    """

    def __init__(self, zones: Iterable[dns.zone.Zone], host: str) -> None:
        self.host = host
        self.server = LabDnsServer(zones)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="realpeers-lab-dns",
                                       daemon=True)
        self.port = 0

    def start(self) -> int:
        """Bind UDP and TCP on a free port of ``host``; returns the port (already answering)."""
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self.server.start(self.host, 0), self.loop)
        self.port = future.result(timeout=10)
        return self.port

    def stop(self) -> None:
        if self.thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


def dns_rcode(server: str, name: str, rdtype: str = "A", port: int = 53,
              timeout: float = 0.5) -> int | None:
    """The rcode a DNS server gives for ``name`` (None when it does not answer in time)."""
    query = dns.message.make_query(name, rdtype)
    try:
        return dns.query.udp(query, server, port=port, timeout=timeout).rcode()
    except (OSError, dns.exception.DNSException):
        return None


# ------------------------------------------------------------------ unbound


def unbound_config(directory: Path, address: str, *, stub: tuple[str, int] | None) -> Path:
    """An unbound.conf for a resolver on ``address``:53.

    With ``stub``, an honest recursive resolver whose only upstream is the lab's authoritative
    server (a stub zone for the root, so no name can send it to the internet; its outgoing
    queries leave from a loopback address, which cannot reach the internet anyway). Without,
    the "lying resolver": NXDOMAIN for every name, answered from its own local zone.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "server:",
        f"  interface: {address}",
        "  port: 53",
        f"  outgoing-interface: {address}",
        "  do-ip6: no",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{directory}"',
        f'  pidfile: "{directory}/unbound.pid"',
        "  use-syslog: no",
        f'  logfile: "{directory}/unbound.log"',
        "  verbosity: 1",
        "  log-servfail: yes",
        "  access-control: 127.0.0.0/8 allow",
        '  module-config: "iterator"',
        "  qname-minimisation: no",
        # unbound answers these itself by default (RFC 6761 test., the loopback reverse zone)
        '  local-zone: "test." nodefault',
        '  local-zone: "127.in-addr.arpa." nodefault',
    ]
    if stub is not None:
        lines += [
            "  do-not-query-localhost: no",
            '  domain-insecure: "."',
            "stub-zone:",
            '  name: "."',
            f"  stub-addr: {stub[0]}@{stub[1]}",
        ]
    else:
        lines += ['  local-zone: "." always_nxdomain']
    lines += ["remote-control:", "  control-enable: no"]
    path = directory / "unbound.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_unbound(name: str, config: Path, address: str, probe: str, expect: int) -> Daemon:
    """Start ``unbound -d`` and wait until it answers ``probe`` with rcode ``expect``."""
    run(["unbound-checkconf", str(config)])
    daemon = Daemon(name, ["unbound", "-d", "-c", str(config)], config.parent / "stdout.log")
    daemon.wait_ready(lambda: dns_rcode(address, probe) == expect, START_TIMEOUT,
                      extra_logs=[config.parent / "unbound.log"])
    return daemon


# ------------------------------------------------------------------ postgrey


def start_postgrey(directory: Path, address: str, port: int, delay: int) -> Daemon:
    """postgrey on address:port with its database in ``directory`` (it runs as user postgrey).

    Debian's stock whitelists stay in force: postmaster@ and abuse@ are never greylisted.
    """
    db = directory / "db"
    db.mkdir(parents=True, exist_ok=True)
    account = pwd.getpwnam("postgrey")
    os.chown(db, account.pw_uid, account.pw_gid)
    daemon = Daemon("postgrey", ["postgrey", f"--inet={address}:{port}", f"--dbdir={db}",
                                 f"--pidfile={directory}/postgrey.pid", f"--delay={delay}"],
                    directory / "postgrey.log")
    daemon.wait_ready(lambda: tcp_answers(address, port), START_TIMEOUT)
    return daemon


# ------------------------------------------------------------------ OpenDKIM


def start_opendkim(directory: Path, address: str, port: int, *, domain: str, selector: str,
                   key: Path) -> Daemon:
    """The OpenDKIM milter in signing mode for ``domain`` on inet:port@address."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "opendkim.conf"
    config.write_text(textwrap.dedent(f"""\
        Syslog                  no
        Mode                    s
        Domain                  {domain}
        Selector                {selector}
        KeyFile                 {key}
        Socket                  inet:{port}@{address}
        PidFile                 {directory}/opendkim.pid
        InternalHosts           csl:127.0.0.0/8
        Canonicalization        relaxed/simple
        SignatureAlgorithm      rsa-sha256
        UMask                   007
        """))
    # libmilter notices SIGTERM only at its next 5-second poll; nothing is in flight at the
    # end of a session, so a short grace before SIGKILL saves those seconds on every run.
    daemon = Daemon("opendkim", ["opendkim", "-f", "-x", str(config)], directory / "opendkim.log",
                    grace=0.5)
    daemon.wait_ready(lambda: tcp_answers(address, port), START_TIMEOUT)
    return daemon


# ------------------------------------------------------------------ Postfix


@dataclass(frozen=True)
class SmtpService:
    """One smtpd service of the Postfix instance: a mail host with its own address and rules."""

    address: str
    hostname: str
    #: main.cf-style overrides for this service only (values may hold spaces).
    overrides: dict[str, str] = field(default_factory=dict)


def postfix_services(plan: AddressPlan, *, postgrey: str, milter: str,
                     tls_chain: tuple[Path, Path]) -> list[SmtpService]:
    """The mail hosts: what each one is for is in its overrides."""
    key, cert = tls_chain
    return [
        SmtpService(plan.strict_mx, "mx.strict.real.test", {
            "smtpd_client_restrictions": f"reject_rbl_client {BLOCKLIST}, reject_unknown_client_hostname",
        }),
        SmtpService(plan.grey_primary, "mx1.grey.real.test"),
        SmtpService(plan.grey_backup, "mx2.grey.real.test", {
            "smtpd_recipient_restrictions": f"check_policy_service inet:{postgrey}",
        }),
        # Postfix refuses to start an smtpd whose rules lack reject_unauth_destination (or
        # similar): "smtpd_relay_restrictions = permit" is a fatal error. The open relays met in
        # practice are made the other way, with a mynetworks wider than the own network.
        # Postfix also answers RCPT with "550 5.1.1 <x@example.com>: Recipient address rejected:
        # example.com" when the recipient resolves to the error transport (our default_transport,
        # so that nothing leaves the machine); without smtpd_reject_unlisted_recipient, this
        # relay says yes as a real open relay would, and mxwizard never sends DATA anyway.
        SmtpService(plan.open_relay, "mx.open.real.test", {
            "mynetworks": "127.0.0.0/8",
            "smtpd_reject_unlisted_recipient": "no",
        }),
        SmtpService(plan.closed_relay, "mx.closed.real.test", {
            "smtpd_client_restrictions": f"reject_rbl_client {BLOCKLIST}",
        }),
        SmtpService(plan.tls_mx, "mx.tls.real.test", {
            "smtpd_tls_security_level": "may",
            "smtpd_tls_chain_files": f"{key}, {cert}",
            "smtpd_tls_loglevel": "1",
        }),
        SmtpService(plan.helo_mx, "mx.helo.real.test", {
            "smtpd_helo_required": "yes",
            "smtpd_helo_restrictions": "reject_non_fqdn_helo_hostname",
        }),
        SmtpService(plan.signer, "out.sender.real.test", {"smtpd_milters": f"inet:{milter}"}),
    ]


#: The Postfix internals every instance needs, from Debian's stock master.cf, all unchrooted.
_MASTER_INTERNALS = """\
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """One Postfix instance with several smtpd services, each on its own address, one port.

    One instance starts in about two seconds, instead of two seconds per mail host; the shared
    parts (the queue, trivial-rewrite's view of which domains are local) are set in main.cf,
    the per-host policy as ``-o`` overrides in master.cf, which is how postmasters run several
    personalities on one Postfix too.
    """

    def __init__(self, directory: Path, plan: AddressPlan, port: int,
                 services: list[SmtpService], mailboxes: list[str]) -> None:
        self.base = directory
        self.plan = plan
        self.port = port
        self.services = services
        self.config = directory / "conf"
        self.queue = directory / "queue"
        self.data = directory / "data"
        self.outbox = directory / "outbox"
        self.maillog = directory / "maillog"
        self.resolv_conf = directory / "resolv.conf"
        self.mailboxes = mailboxes
        self.daemon: Daemon | None = None

    def write(self) -> None:
        """Write main.cf, master.cf and the tables; set the ownership Postfix insists on."""
        for path in (self.config, self.queue, self.data, self.outbox):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(self.data, postfix_user.pw_uid, postfix_user.pw_gid)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.outbox, nobody.pw_uid, nobody.pw_gid)
        self.resolv_conf.write_text(f"nameserver {self.plan.resolver}\noptions timeout:2 attempts:2\n")
        (self.config / "mailboxes").write_text("".join(f"{m} ok\n" for m in self.mailboxes))
        (self.config / "transport").write_text(f"{OUTBOX} fileout:\n")
        main = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.real.test",
            "mydomain": "real.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_protocols": "ipv4",
            # "inet_interfaces = 127.0.5.10" is fatal ("no local interface found for
            # 127.0.5.10"): lo carries 127.0.0.1/8 and Postfix wants an interface's own address.
            # Every smtpd service names its own address in master.cf instead, and no inet
            # service is left to bind to this one.
            "inet_interfaces": "127.0.0.1",
            "mynetworks": "127.0.0.1/32",
            # nothing ever leaves the machine: no smtp client service exists, and these say so
            "default_transport": "error",
            "relay_transport": "error",
            "local_transport": "discard",
            "virtual_transport": "discard",
            "virtual_mailbox_domains": ", ".join((STRICT, GREY, TLS, HELO)),
            "virtual_mailbox_maps": f"texthash:{self.config}/mailboxes",
            "relay_domains": OUTBOX,
            "transport_maps": f"texthash:{self.config}/transport",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_banner": "$myhostname ESMTP Postfix",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.base),
        }
        (self.config / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        master = [_MASTER_INTERNALS,
                  "fileout   unix  -       n       n       -       -       pipe\n"
                  f"  user=nobody argv=/usr/bin/dd of={self.outbox}/${{queue_id}}.eml status=none\n"]
        for service in self.services:
            master.append(f"{service.address}:{self.port} inet n - n - - smtpd\n")
            settings = {"myhostname": service.hostname, **service.overrides}
            master.extend(f"  -o {{ {k} = {v} }}\n" for k, v in settings.items())
        (self.config / "master.cf").write_text("".join(master))

    def check(self) -> None:
        """``postfix check``, with its complaints in the exception when it fails."""
        status, said = run_with_tty(["postfix", "-c", str(self.config), "check"])
        if status != 0:
            raise RuntimeError(f"postfix check failed ({status}):\n{said}")

    def start(self) -> None:
        """``postfix start-fg`` in a private mount namespace; returns once every smtpd greets."""
        self.write()
        self.check()
        script = 'mount --bind "$0" /etc/resolv.conf && exec postfix -c "$1" start-fg'
        self.daemon = Daemon("postfix", ["unshare", "--mount", "--propagation", "private",
                                         "sh", "-c", script, str(self.resolv_conf), str(self.config)],
                             self.base / "start-fg.log")
        daemon = self.daemon
        for service in self.services:
            daemon.wait_ready(lambda s=service: (smtp_banner(s.address, self.port) or "").startswith("220"),
                              START_TIMEOUT, extra_logs=[self.maillog])

    def master_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        """``postfix stop``; if the master outlives it, kill the master by its own pid."""
        if self.daemon is None:
            return
        master = self.master_pid()
        with contextlib.suppress(Exception):
            run(["postfix", "-c", str(self.config), "stop"], check=False, timeout=20)
        with contextlib.suppress(TimeoutError):
            wait_for("postfix master exit", lambda: master is None or not pid_alive(master), 15)
        if master is not None and pid_alive(master):
            with contextlib.suppress(ProcessLookupError):
                os.kill(master, signal.SIGKILL)
        self.daemon.stop()

    def wait_for_delivery(self, queue_id: str, timeout: float = 20.0) -> Path:
        """The file the fileout transport wrote for ``queue_id``, once Postfix logged it sent."""
        needle = f"{queue_id}: to=<"

        def delivered() -> bool:
            with contextlib.suppress(OSError):
                return any(needle in line and "status=sent" in line
                           for line in self.maillog.read_text(errors="replace").splitlines())
            return False

        wait_for(f"delivery of {queue_id}", delivered, timeout)
        return self.outbox / f"{queue_id}.eml"


def missing_programs(names: Iterable[str]) -> list[str]:
    """The programs among ``names`` that are not installed."""
    return [n for n in names if shutil.which(n) is None]
