"""``mxwizard lab serve``: the lab in the foreground, for trainers and for real clients.

It prints where everything listens, the ``dig`` and ``swaks`` commands to try, and the scenarios,
then runs until Ctrl-C (or SIGTERM) and stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from mxwizard.lab.internet import DNSBL_ZONE
from mxwizard.lab.transport import POLICY_SERVER_IP
from mxwizard.lab.world import LabPortTaken, World, running_lab


def _banner(world: World) -> str:
    dns = f"@{world.dns_addr} -p {world.dns_port}"
    port = world.smtp_port
    lines = [f"mxwizard lab: note: {note}." for note in world.moved]
    lines.append(f"mxwizard lab: DNS on {world.dns_addr}:{world.dns_port} (UDP and TCP), "
                 f"SMTP on port {port} of these hosts:")
    for host in world.hosts:
        what = host.mode if host.mode != "listen" else ("open relay" if host.open_relay else
                                                          ", ".join(host.domains) or "no domains")
        lines.append(f"  {host.ip:<12} {host.name:<22} {what}")
    lines += [
        f"mxwizard lab: HTTPS on {POLICY_SERVER_IP}:{world.https_port}, the MTA-STS policy web "
        "server of every mta-sts.* name of the lab",
        "",
        "Try:",
        f"  dig {dns} MX healthy.test",
        f"  dig {dns} -x 127.0.2.1",
        f"  dig {dns} A 2.0.0.127.{DNSBL_ZONE}",
        f"  dig @{world.liar_addr} -p {world.liar_port} . NS"
        "  # the lab's lying resolver: NXDOMAIN for every name",
        f"  swaks --server 127.0.2.1:{port} --to postmaster@healthy.test --from you@home.test",
        f"  swaks --server 127.0.2.20:{port} --to someone@example.com --from you@example.org"
        "  # an open relay",
        f"  curl --cacert {world.ca_file} --resolve mta-sts.stsgood.test:{world.https_port}:"
        f"{POLICY_SERVER_IP} https://mta-sts.stsgood.test:{world.https_port}/.well-known/mta-sts.txt"
        "  # an MTA-STS policy",
        "",
        f"The lab CA (its MX and MTA-STS certificates): {world.ca_file}",
        "Point the wizard at it from another terminal:",
        f"  mxwizard check receive healthy.test --resolver {world.dns_addr}:{world.dns_port}"
        f" --smtp-port {port} --private-network --ca-file {world.ca_file}",
        "  (--private-network: the lab's 127.x addresses are its own network, not faults;",
        "  MTA-STS policies are fetched from port 443 that way: use --lab to see them)",
        "",
        "Scenarios (mxwizard lab list shows the commands); Ctrl-C stops the lab.",
    ]
    return "\n".join(lines)


async def _serve(dns_addr: str, dns_port: int, smtp_port: int, latency_ms: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running_lab(latency_ms, dns_addr, dns_port, smtp_port) as world:
        print(_banner(world), flush=True)
        await stop.wait()
    print("mxwizard lab: stopped.", flush=True)


def serve_forever(dns_addr: str, dns_port: int, smtp_port: int, latency_ms: int) -> int:
    """Run the lab until interrupted; a port already in use is one line and exit status 2."""
    try:
        asyncio.run(_serve(dns_addr, dns_port, smtp_port, latency_ms))
    except LabPortTaken as exc:
        print(f"mxwizard: error: cannot start the lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mxwizard: error: cannot start the lab: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
