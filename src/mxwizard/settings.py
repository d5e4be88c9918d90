"""Settings: where the probes point and how long they may take, shared by every command.

One frozen dataclass built once by the CLI (or the TUI's input form) and passed down. Probes read
nothing else: no environment variables, no globals. That is what lets the tests and the ``--lab``
flag point every probe at the built-in lab on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 128


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
    #: True when the built-in lab stands in for the internet (private addresses are expected).
    lab: bool = False
    #: How many network operations may be in flight at once (1 makes everything sequential).
    concurrency: int = DEFAULT_CONCURRENCY

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (the lab uses it to point everything at itself)."""
        return replace(self, **changes)  # type: ignore[arg-type]
