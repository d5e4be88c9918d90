"""Parsing of what the user types: domain names, mail addresses, IP addresses and host:port.

Every command validates its arguments here, before any network traffic, so a typo is answered
with one clear sentence (an :class:`InputError`) and exit status 2 instead of a probe that fails
in a confusing way later. Unicode domain names are converted with IDNA 2008 (UTS #46 mapping),
and both forms are kept because users recognise the one and servers only speak the other.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import idna

MAX_NAME = 253
MAX_LABEL = 63
_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class InputError(ValueError):
    """Something the user typed is malformed; the message is one sentence meant for them."""


@dataclass(frozen=True)
class Domain:
    """A domain name in both forms: ``ascii`` (A-labels, what goes on the wire) and ``text``."""

    ascii: str
    text: str

    def __str__(self) -> str:
        return self.ascii

    @property
    def shown(self) -> str:
        """The name as a person reads it, with the wire form beside it when they differ."""
        return self.ascii if self.text == self.ascii else f"{self.text} ({self.ascii})"


@dataclass(frozen=True)
class MailAddress:
    """A mail address split at its last ``@``; the domain part is a :class:`Domain`."""

    local: str
    domain: Domain

    def __str__(self) -> str:
        return f"{self.local}@{self.domain.ascii}"


@dataclass(frozen=True)
class HostPort:
    """A host (name or IP address) with an optional port, as typed for ``check relay``."""

    host: str
    port: int | None


def _reject_controls(value: str, what: str) -> None:
    if not value or not value.strip():
        raise InputError(f"the {what} is empty")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise InputError(f"the {what} {value!r} contains control characters")
    if any(c.isspace() for c in value):
        raise InputError(f"the {what} {value!r} contains a space")


def parse_domain(value: str, what: str = "domain") -> Domain:
    """Validate a domain name and return it in both forms.

    Accepts a trailing dot and any case. Rejects addresses where a domain belongs, IP addresses,
    over-long labels or names, and labels that are not letters, digits, hyphens (and underscores,
    which DNS allows in names such as DKIM selectors).
    """
    _reject_controls(value, what)
    if "@" in value:
        raise InputError(
            f"{value!r} is a mail address, but a {what} is expected here (try the part after '@')"
        )
    name = value.rstrip(".")
    if not name or ".." in name or name.startswith("."):
        raise InputError(f"{value!r} is not a valid {what}: it has an empty label")
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise InputError(f"{value!r} is an IP address, but a {what} name is expected here")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii") if not name.isascii() \
            else name.lower()
    except idna.IDNAError as exc:
        raise InputError(f"{value!r} is not a valid internationalised {what}: {exc}") from None
    if len(ascii_name) > MAX_NAME:
        raise InputError(
            f"the {what} is {len(ascii_name)} characters long; DNS allows at most {MAX_NAME}"
        )
    for label in ascii_name.split("."):
        if len(label) > MAX_LABEL:
            raise InputError(
                f"the label {label[:20]!r}… of {value!r} is {len(label)} characters long; "
                f"DNS allows at most {MAX_LABEL}"
            )
        if not _LDH_LABEL.match(label):
            raise InputError(
                f"{value!r} is not a valid {what}: {label!r} may only contain letters, digits "
                "and hyphens, and may not start or end with a hyphen"
            )
    if ascii_name.split(".")[-1].isdigit():
        raise InputError(f"{value!r} is not a valid {what}: the last label cannot be all digits")
    try:
        text = idna.decode(ascii_name) if "xn--" in ascii_name else ascii_name
    except (idna.IDNAError, UnicodeError) as exc:
        raise InputError(f"{value!r} is not a valid internationalised {what}: {exc}") from None
    return Domain(ascii=ascii_name, text=text)


def parse_address(value: str, what: str = "address") -> MailAddress:
    """Validate a mail address ``local@domain`` (the envelope form, without display name)."""
    _reject_controls(value, what)
    address = value.strip("<>")
    if "@" not in address:
        raise InputError(f"{value!r} is not a mail address: it has no '@'")
    local, _, domain = address.rpartition("@")
    if not local:
        raise InputError(f"{value!r} is not a mail address: nothing before the '@'")
    if len(local) > 64:
        raise InputError(f"the local part of {value!r} is longer than 64 characters")
    if any(c in local for c in "<>()[]\\,;:") and not (local.startswith('"') and local.endswith('"')):
        raise InputError(f"{value!r} is not a mail address: its local part has special characters")
    return MailAddress(local=local, domain=parse_domain(domain, f"domain of the {what}"))


def parse_ip(value: str, what: str = "IP address") -> str:
    """Validate an IPv4 or IPv6 address and return it in canonical form."""
    _reject_controls(value, what)
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise InputError(f"{value!r} is not a valid {what}") from None


def parse_port(value: str | int, what: str = "port") -> int:
    """Validate a TCP/UDP port number (1-65535)."""
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise InputError(f"the {what} {value!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise InputError(f"the {what} {port} is out of range (1-65535)")
    return port


def parse_host_port(value: str, what: str = "server") -> HostPort:
    """Parse ``HOST``, ``HOST:PORT``, ``IP``, ``IPv4:PORT`` or ``[IPv6]:PORT``."""
    _reject_controls(value, what)
    if value.startswith("["):
        inside, sep, rest = value[1:].partition("]")
        if not sep:
            raise InputError(f"{value!r} is missing the closing ']' of an IPv6 address")
        host = parse_ip(inside, f"IPv6 address of the {what}")
        if not rest:
            return HostPort(host, None)
        if not rest.startswith(":"):
            raise InputError(f"{value!r} is not HOST[:PORT]")
        return HostPort(host, parse_port(rest[1:], f"port of the {what}"))
    if value.count(":") > 1:  # a bare IPv6 address
        return HostPort(parse_ip(value, f"IP address of the {what}"), None)
    host, sep, port = value.partition(":")
    parsed_port = parse_port(port, f"port of the {what}") if sep else None
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = parse_domain(host, f"host name of the {what}").ascii
    return HostPort(host, parsed_port)


def parse_resolver(value: str) -> tuple[str, int]:
    """Parse ``--resolver IP[:PORT]``; the port defaults to 53."""
    hp = parse_host_port(value, "resolver")
    try:
        ipaddress.ip_address(hp.host)
    except ValueError:
        raise InputError(
            f"the resolver must be an IP address, not the name {hp.host!r}"
            " (a resolver is needed to look up a name)"
        ) from None
    return hp.host, hp.port or 53
