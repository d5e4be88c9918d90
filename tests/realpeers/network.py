"""Loopback addresses and ports for the real peers, claimed so that two test runs never collide.

Every simulated host gets its own 127.x address, so one port number serves them all: mxwizard has
a single ``--smtp-port`` for every MX host it visits, exactly like port 25 on the internet.
Postfix reads /etc/resolv.conf, which cannot name a port, so the honest resolver must listen on
port 53; that is why a whole address block is claimed per run (a lock file plus a test bind)
instead of a port: a second run on the same machine takes the next block.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Where the per-block lock files live (shared by every run on this machine).
LOCK_DIR = Path("/tmp")
#: The second octet tried first: 127.0.5.x for servers, 127.0.7.x for the probe's addresses.
PREFERRED_BLOCK = 0


@dataclass(frozen=True)
class AddressPlan:
    """Which 127.x address plays which part, for one claimed block (the second octet)."""

    block: int

    def server(self, last: int) -> str:
        """A server address: 127.B.5.N."""
        return f"127.{self.block}.5.{last}"

    def client(self, last: int) -> str:
        """An address the probe connects from: 127.B.7.N."""
        return f"127.{self.block}.7.{last}"

    @property
    def authority(self) -> str:
        """The lab's authoritative DNS server (LabDnsServer), behind the resolvers."""
        return self.server(1)

    @property
    def resolver(self) -> str:
        """The honest unbound on port 53: Postfix's resolv.conf and mxwizard's --resolver."""
        return self.server(53)

    @property
    def liar(self) -> str:
        """The lying unbound: NXDOMAIN for every name, like a captive portal."""
        return self.server(54)

    @property
    def postgrey(self) -> str:
        return self.server(60)

    @property
    def opendkim(self) -> str:
        return self.server(70)

    # the mail hosts (one smtpd service of the one Postfix instance each)
    @property
    def strict_mx(self) -> str:
        return self.server(10)

    @property
    def grey_primary(self) -> str:
        return self.server(20)

    @property
    def grey_backup(self) -> str:
        return self.server(21)

    @property
    def open_relay(self) -> str:
        return self.server(30)

    @property
    def closed_relay(self) -> str:
        return self.server(31)

    @property
    def tls_mx(self) -> str:
        return self.server(40)

    @property
    def helo_mx(self) -> str:
        return self.server(50)

    @property
    def signer(self) -> str:
        """The outbound Postfix service with the OpenDKIM milter (signs what it relays)."""
        return self.server(80)

    # the probe's source addresses
    @property
    def clean(self) -> str:
        """PTR mail.sender.real.test, which points back: a well-configured sender."""
        return self.client(1)

    @property
    def no_ptr(self) -> str:
        """No reverse DNS at all."""
        return self.client(2)

    @property
    def listed(self) -> str:
        """PTR and A in order, but listed in the fixture's blocklist bl.real.test."""
        return self.client(3)

    def smtp_hosts(self) -> list[str]:
        """Every address an smtpd service listens on (they share one port)."""
        return [self.strict_mx, self.grey_primary, self.grey_backup, self.open_relay,
                self.closed_relay, self.tls_mx, self.helo_mx, self.signer]

    @property
    def reverse_zone(self) -> str:
        return "127.in-addr.arpa"

    @staticmethod
    def reverse_name(ip: str) -> str:
        """The PTR owner name of an IPv4 address, relative to 127.in-addr.arpa."""
        octets = ip.split(".")
        return ".".join(reversed(octets[1:]))


def _can_bind(address: str, port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def claim_block() -> tuple[AddressPlan, IO[str]]:
    """Claim an address block for this run: (the plan, the open lock file to keep until the end).

    The lock stops a concurrent run from taking the same block; the test binds catch anything
    else (an orphaned unbound from a killed run) that already sits on the resolvers' port 53.
    """
    others = [b for b in range(1, 255) if b != PREFERRED_BLOCK]
    random.shuffle(others)  # two runs that both lose the preferred block rarely race again
    for block in (PREFERRED_BLOCK, *others):
        plan = AddressPlan(block)
        lock = (LOCK_DIR / f"mxwizard-realpeers-127.{block}.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        if all(_can_bind(a, 53, socket.SOCK_DGRAM) and _can_bind(a, 53, socket.SOCK_STREAM)
               for a in (plan.resolver, plan.liar)):
            return plan, lock
        lock.close()
    raise RuntimeError("no free 127.x block: every candidate is locked or its port 53 is taken")


def common_free_port(addresses: list[str], attempts: int = 50) -> int:
    """A TCP port that is free on every one of ``addresses`` (chosen by the kernel, then checked).

    The sockets are closed before the servers bind, so another program could take the port in
    between; on loopback addresses of our own claimed block nobody else binds, so this is safe.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind((addresses[0], 0))
            port = int(first.getsockname()[1])
            if all(_can_bind(a, port, socket.SOCK_STREAM) for a in addresses[1:]):
                return port
    raise RuntimeError(f"no TCP port free on all of {addresses}")


def free_port(address: str) -> int:
    """A free TCP port on ``address``."""
    return common_free_port([address])


def tcp_answers(address: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on address:port."""
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=timeout):
        return True
    return False


def smtp_banner(address: str, port: int, timeout: float = 2.0) -> str | None:
    """The first line an SMTP server sends, or None if it does not greet (yet).

    Reading the banner, not just connecting, proves that the daemon behind the socket really
    answers (Postfix's master accepts the connection before smtpd has started).
    """
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(512)
                if not chunk:
                    return None
                data += chunk
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT\r\n")
            return data.split(b"\n", 1)[0].decode("ascii", "replace").rstrip("\r")
    except OSError:
        return None


def wait_for(what: str, ready: Callable[[], object], timeout: float, *,
             alive: Callable[[], bool] | None = None, interval: float = 0.05) -> None:
    """Poll ``ready()`` until it is true, never a fixed sleep; fail early when ``alive()`` turns
    false (a daemon that died on a configuration error), with a timeout as the last resort."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: the process exited before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:g} s")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """True while a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
