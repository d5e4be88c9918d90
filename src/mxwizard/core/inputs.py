"""Parsing of what the user types: domain names, mail addresses, HELO names, IP addresses,
host:port, timeouts and the files given to read.

Every command validates its arguments here, before any network traffic, so a typo is answered
with one clear sentence (an :class:`InputError`) and exit status 2 instead of a probe that fails
in a confusing way later. Unicode domain names are converted with IDNA 2008 (UTS #46 mapping),
and both forms are kept because users recognise the one and servers only speak the other.

What is typed also goes on the wire (MAIL FROM, RCPT TO, EHLO) and into reports, so nothing
leaves here that SMTP does not allow: no control or invisible formatting characters, and the
RFC 5321 §4.5.3.1 lengths (a local part of 64 octets, an address of 254, a domain of 253 as DNS
spells it: the RFC's 255 octets count the length bytes of the wire form). A refused value is
quoted in the error made visible and cut short, so the error stays one safe line.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from dataclasses import dataclass

import idna

from mxwizard.core.untrusted import unsafe_character, visible

MAX_NAME = 253
MAX_LABEL = 63
#: RFC 5321 §4.5.3.1.1: the local part of a mail address, in octets.
MAX_LOCAL_PART = 64
#: RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets.
MAX_ADDRESS = 254
#: Longer input is refused before any parser looks at it (no name, address or number is).
MAX_INPUT = 1024
#: Characters of a refused value quoted in its error message.
MAX_SHOWN = 60
#: Largest message file read for --message: the common limit of mail systems (Gmail's, for one).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
#: The largest ``--ca-file`` read: a PEM bundle of every public root is about 250 KB, so a few
#: megabytes hold any private CA with room to spare, and nothing absurd is parsed.
MAX_CA_FILE_BYTES = 4 * 1024 * 1024
#: The longest timeout accepted, in seconds.
MAX_TIMEOUT = 600.0
_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
#: RFC 5322 atext: what an unquoted local part may hold besides dots (and, RFC 6531, non-ASCII).
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")


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


def _shown(value: str) -> str:
    """A refused value as an error quotes it: quoted, escaped, cut short."""
    return f"'{visible(value, MAX_SHOWN)}'"


def _reject_controls(value: str, what: str) -> None:
    """Refuse empty text, text longer than :data:`MAX_INPUT` (before anything else looks at it;
    each parser then applies its own, exact limit), control and invisible formatting
    characters, lone surrogates and white space."""
    if not value or not value.strip():
        raise InputError(f"the {what} is empty")
    if len(value) > MAX_INPUT:
        raise InputError(f"the {what} is {len(value):,} characters long, far longer than any "
                         f"{what} can be")
    bad = unsafe_character(value)
    if bad is not None:
        raise InputError(f"the {what} {_shown(value)} contains control characters "
                         f"({visible(bad)})")
    if any(c.isspace() for c in value):
        raise InputError(f"the {what} {_shown(value)} contains a space")


def parse_domain(value: str, what: str = "domain") -> Domain:
    """Validate a domain name and return it in both forms.

    Accepts a trailing dot and any case. Rejects addresses where a domain belongs, IP addresses,
    over-long labels or names, and labels that are not letters, digits, hyphens (and underscores,
    which DNS allows in names such as DKIM selectors).
    """
    _reject_controls(value, what)
    shown = _shown(value)
    if "@" in value:
        raise InputError(
            f"{shown} is a mail address, but a {what} is expected here (try the part after '@')"
        )
    name = value.rstrip(".")
    if not name or ".." in name or name.startswith("."):
        raise InputError(f"{shown} is not a valid {what}: it has an empty label")
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise InputError(f"{shown} is an IP address, but a {what} name is expected here")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii") if not name.isascii() \
            else name.lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise InputError(f"{shown} is not a valid internationalised {what}: "
                         f"{visible(str(exc), 200)}") from None
    if len(ascii_name) > MAX_NAME:
        raise InputError(
            f"the {what} is {len(ascii_name)} characters long; DNS allows at most {MAX_NAME}"
        )
    for label in ascii_name.split("."):
        if len(label) > MAX_LABEL:
            raise InputError(
                f"the label '{visible(label, 20)}…' of {shown} is {len(label)} characters long; "
                f"DNS allows at most {MAX_LABEL}"
            )
        if not _LDH_LABEL.match(label):
            raise InputError(
                f"{shown} is not a valid {what}: '{visible(label, MAX_SHOWN)}' may only contain "
                "letters, digits and hyphens, and may not start or end with a hyphen"
            )
    if ascii_name.split(".")[-1].isdigit():
        raise InputError(f"{shown} is not a valid {what}: the last label cannot be all digits")
    try:
        text = idna.decode(ascii_name) if "xn--" in ascii_name else ascii_name
    except (idna.IDNAError, UnicodeError) as exc:
        raise InputError(f"{shown} is not a valid internationalised {what}: "
                         f"{visible(str(exc), 200)}") from None
    return Domain(ascii=ascii_name, text=text)


def _check_local_part(local: str, shown: str) -> None:
    """An unquoted local part is atext and dots (RFC 5322 §3.2.3; non-ASCII letters allowed,
    RFC 6531); a quoted one is anything printable, with ``\\`` and ``"`` escaped."""
    if len(local.encode("utf-8", "surrogatepass")) > MAX_LOCAL_PART:
        raise InputError(f"the local part of {shown} is longer than {MAX_LOCAL_PART} characters")
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        inside = local[1:-1]
        escaped = False
        for ch in inside:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                raise InputError(f"{shown} is not a mail address: a '\"' inside the quoted local "
                                 "part must be written as '\\\"'")
        if escaped:
            raise InputError(f"{shown} is not a mail address: its quoted local part ends in '\\'")
        return
    special = next((ch for ch in local if ch.isascii() and ch not in _ATEXT), None)
    if special is not None:
        raise InputError(f"{shown} is not a mail address: its local part has special characters "
                         f"('{visible(special)}'; they need quotes, as in \"a{special}b\"@example.org)")


def parse_address(value: str, what: str = "address") -> MailAddress:
    """Validate a mail address ``local@domain`` (the envelope form, without display name)."""
    _reject_controls(value, what)
    shown = _shown(value)
    address = value[1:-1] if value.startswith("<") and value.endswith(">") else value
    if "@" not in address:
        raise InputError(f"{shown} is not a mail address: it has no '@'")
    local, _, domain = address.rpartition("@")
    if not local:
        raise InputError(f"{shown} is not a mail address: nothing before the '@'")
    _check_local_part(local, shown)
    parsed = MailAddress(local=local, domain=parse_domain(domain, f"domain of the {what}"))
    size = len(str(parsed).encode("utf-8", "surrogatepass"))
    if size > MAX_ADDRESS:
        raise InputError(f"{shown} is {size} characters long on the wire; a mail address has at "
                         f"most {MAX_ADDRESS}")
    return parsed


def parse_address_literal(value: str, what: str = "address literal") -> str:
    """Validate an address literal as SMTP writes one (RFC 5321 §4.1.3): ``[192.0.2.1]`` or
    ``[IPv6:2001:db8::1]``; returns it in canonical form."""
    _reject_controls(value, what)
    shown = _shown(value)
    if not value.startswith("["):
        raise InputError(f"{shown} is missing the opening '[' of an address literal")
    if not value.endswith("]"):
        raise InputError(f"{shown} is missing the closing ']' of an address literal")
    inner = value[1:-1]
    if inner[:5].lower() == "ipv6:":
        try:
            if "%" in inner:
                raise ValueError(inner)
            return f"[IPv6:{ipaddress.IPv6Address(inner[5:]).compressed}]"
        except ValueError:
            raise InputError(f"{shown} is not a valid {what}: '{visible(inner[5:], MAX_SHOWN)}' "
                             "is not an IPv6 address") from None
    try:
        return f"[{ipaddress.IPv4Address(inner)}]"
    except ValueError:
        pass
    try:
        if "%" in inner:
            raise ValueError(inner)
        v6 = ipaddress.IPv6Address(inner)
    except ValueError:
        raise InputError(f"{shown} is not a valid {what}: write [192.0.2.1] or "
                         "[IPv6:2001:db8::1]") from None
    raise InputError(f"{shown} is not a valid {what}: an IPv6 literal carries a tag, "
                     f"[IPv6:{v6.compressed}]")


def parse_helo(value: str) -> str:
    """Validate the name a server says in HELO/EHLO: a domain name (in A-labels, as it goes on
    the wire) or an address literal (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``). Everything goes
    through here, literals too: a HELO name is sent in an EHLO line of at most 512 octets."""
    what = "HELO name"
    _reject_controls(value, what)
    if value.startswith("[") or value.endswith("]"):
        return parse_address_literal(value, f"{what} (an address literal)")
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return parse_domain(value, what).ascii
    literal = f"[IPv6:{ip.compressed}]" if ip.version == 6 else f"[{ip}]"
    raise InputError(f"{_shown(value)} is an IP address: as a {what}, write it as the address "
                     f"literal {literal}")


def parse_dkim_selector(value: str) -> str:
    """``--dkim-selector``: a selector is one or more DNS labels (``s1``, ``2024._keys``), put
    in front of ``._domainkey.DOMAIN``; returned in A-labels, as it is looked up."""
    return parse_domain(value, "DKIM selector").ascii


def parse_blocklist_zone(value: str) -> str:
    """``--dnsbl ZONE``: the DNS zone of a blocklist (``zen.spamhaus.org``), in A-labels."""
    return parse_domain(value, "blocklist zone").ascii


def parse_ip(value: str, what: str = "IP address") -> str:
    """Validate an IPv4 or IPv6 address and return it in canonical form."""
    _reject_controls(value, what)
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise InputError(f"{_shown(value)} is not a valid {what}") from None


def parse_port(value: str | int, what: str = "port") -> int:
    """Validate a TCP/UDP port number (1-65535)."""
    if isinstance(value, str) and len(value) > 10:
        raise InputError(f"the {what} {_shown(value)} is not a number of at most 5 digits")
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise InputError(f"the {what} {_shown(str(value))} is not a number") from None
    if not 1 <= port <= 65535:
        raise InputError(f"the {what} {port} is out of range (1-65535)")
    return port


def parse_host_port(value: str, what: str = "server") -> HostPort:
    """Parse ``HOST``, ``HOST:PORT``, ``IP``, ``IPv4:PORT`` or ``[IPv6]:PORT``."""
    _reject_controls(value, what)
    if value.startswith("["):
        inside, sep, rest = value[1:].partition("]")
        if not sep:
            raise InputError(f"{_shown(value)} is missing the closing ']' of an IPv6 address")
        host = parse_ip(inside, f"IPv6 address of the {what}")
        if not rest:
            return HostPort(host, None)
        if not rest.startswith(":"):
            raise InputError(f"{_shown(value)} is not HOST[:PORT]")
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
            f"the resolver must be an IP address, not the name {_shown(hp.host)}"
            " (a resolver is needed to look up a name)"
        ) from None
    return hp.host, hp.port or 53


def parse_timeout(value: str) -> float:
    """``--timeout SECONDS``: a number of seconds above 0, at most :data:`MAX_TIMEOUT`."""
    if len(value) > 32:
        raise InputError(f"the timeout {_shown(value)} is not a number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise InputError(f"the timeout {_shown(value)} is not a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT:  # also refuses nan and inf
        raise InputError(f"the timeout must be between 0 and {MAX_TIMEOUT:g} seconds, not "
                         f"{visible(value, 32)}")
    return seconds


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> str:
    """What a file that is not a regular file is ("" for a regular file)."""
    if stat.S_ISREG(mode):
        return ""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def _too_big(size: int, limit: int) -> str:
    return f"{size / 1048576:.1f} MB, larger than the {limit // 1048576} MB allowed"


def regular_file(value: str, what: str = "file", limit: int | None = None) -> str:
    """Validate a path the user gives to read: it exists, is a regular file (a named pipe with
    no writer would hang the reader forever, a device never ends) and, with ``limit``, is at
    most that many bytes. Returns the path (``~`` expanded). Nothing is opened here."""
    if not value:
        raise InputError(f"the {what} name is empty")
    shown = _shown(value)
    path = os.path.expanduser(value)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"there is no {what} {shown}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise InputError(f"the {what} {shown} cannot be used "
                         f"({visible(getattr(exc, 'strerror', None) or str(exc), 100)})") from None
    kind = _not_regular(info.st_mode)
    if kind:
        raise InputError(f"the {what} {shown} is {kind}, not a regular file")
    if limit is not None and info.st_size > limit:
        raise InputError(f"the {what} {shown} is {_too_big(info.st_size, limit)}")
    return path


def parse_message_file(value: str) -> str:
    """``--message FILE.eml``: a regular file of at most :data:`MAX_MESSAGE_BYTES`."""
    return regular_file(value, "message file", MAX_MESSAGE_BYTES)


def parse_ca_file(value: str) -> str:
    """``--ca-file FILE``: a regular file of at most :data:`MAX_CA_FILE_BYTES` (PEM certificates
    of a private CA; whether they parse is judged where they are used, with a finding)."""
    return regular_file(value, "CA file", MAX_CA_FILE_BYTES)


def read_regular_file(path: str, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or an :class:`InputError`.

    Opened with O_NONBLOCK, so that a named pipe put there since it was validated cannot hang
    the reader; then checked on the open file (fstat: the file read is the file checked); then
    read in pieces, stopping as soon as more than ``limit`` arrives (a file that grows is not
    read whole)."""
    shown = _shown(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise InputError(f"the {what} {shown} cannot be read "
                         f"({visible(getattr(exc, 'strerror', None) or str(exc), 100)})") from None
    try:
        info = os.fstat(fd)
        kind = _not_regular(info.st_mode)
        if kind:
            raise InputError(f"the {what} {shown} is {kind}, not a regular file")
        if info.st_size > limit:
            raise InputError(f"the {what} {shown} is {_too_big(info.st_size, limit)}")
        pieces: list[bytes] = []
        size = 0
        while size <= limit:
            piece = os.read(fd, min(1 << 20, limit + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
        if size > limit:
            raise InputError(f"the {what} {shown} is larger than the {limit // 1048576} MB "
                             "allowed (it grew while it was read)")
        return b"".join(pieces)
    except OSError as exc:
        raise InputError(f"the {what} {shown} cannot be read "
                         f"({visible(exc.strerror or str(exc), 100)})") from None
    finally:
        os.close(fd)
