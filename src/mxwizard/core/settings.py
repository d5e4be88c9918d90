"""Settings: where the probes point and how long they may take, shared by every command.

One frozen dataclass built once by the CLI (or the TUI's input form) and passed down. Probes read
nothing else: no environment variables, no globals. That is what lets the tests and the ``--lab``
flag point every probe at the built-in lab on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 128
#: The ranges ``--private-network`` makes the user's own: RFC 1918, carrier-grade NAT (RFC 6598),
#: loopback, and IPv6 unique-local and loopback addresses.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                    "127.0.0.0/8", "fc00::/7", "::1/128")


@dataclass(frozen=True)
class Settings:
    """The options shared by ``check``, ``explain`` and the TUI (DESIGN.md §2)."""

    #: DNS server as (IP, port); ``None`` means the system's resolvers from /etc/resolv.conf.
    resolver: tuple[str, int] | None = None
    #: The port SMTP probes connect to (25 on the real internet, the lab's port in lab mode).
    smtp_port: int = 25
    #: Local address SMTP probes connect from; the lab's client checks judge this address.
    source_ip: str | None = None
    #: Seconds allowed for one network step (one DNS query, one SMTP reply).
    timeout: float = DEFAULT_TIMEOUT
    #: Blocklist zones to query; ``None`` means the default set in ``knowledge.blocklists``.
    dnsbl_zones: tuple[str, ...] | None = None
    #: Address ranges of a private network the user controls: addresses in them are not
    #: faults, and every check runs on them as if they were public. ``--private-network`` gives
    #: every private, shared and loopback range; the lab gives its own loopback range.
    own_networks: tuple[str, ...] = ()
    #: A DNS name that answers with the asking client's own address ("what is my IP"), asked
    #: through ``resolver`` from ``source_ip``; ``None`` means the public echo services.
    whoami_name: str | None = None
    #: How many network operations may be in flight at once (1 makes everything sequential).
    concurrency: int = DEFAULT_CONCURRENCY
    #: A PEM file of extra certificate authorities to trust besides the system's store
    #: (``--ca-file``: a private CA; the lab points it at its own CA). Certificates of MX hosts
    #: and MTA-STS web servers are judged against the system store plus this file.
    ca_file: str | None = None
    #: The port MTA-STS policies are fetched from: 443 on the real internet (RFC 8461 says
    #: HTTPS, so its port), the lab's HTTPS port in lab mode.
    https_port: int = 443

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (the lab uses it to point everything at itself)."""
        return replace(self, **changes)  # type: ignore[arg-type]
