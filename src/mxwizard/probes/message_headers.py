"""The headers of a sent message that the big providers' sender rules look at.

``--message`` gives a real message; besides its DKIM signatures (:mod:`mxwizard.probes.dkim`),
Gmail, Yahoo and Outlook.com look at its From, Date and Message-ID (RFC 5322) and, for bulk
mail, at the one-click unsubscribe headers of RFC 8058: ``List-Unsubscribe`` with an ``https:``
address and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. This module reads those
headers and says what it found (pure; the message bytes are already bounded by the reader of
``--message``); the checklist rules judge.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass

from mxwizard.probes.dkim import split_message

#: Header lines read (a real message has a few dozen; a header section of thousands is hostile).
MAX_HEADER_FIELDS = 1000
#: Characters kept of one header value.
MAX_VALUE = 2000
ONE_CLICK = "List-Unsubscribe=One-Click"
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_URI = re.compile(r"<([^<>]{1,1000})>")
_NAME = re.compile(rb"^([!-9;-~]+):")


@dataclass(frozen=True)
class MessageHeaders:
    """The headers the sender rules read, as found (values unfolded, at most MAX_VALUE each)."""

    from_values: tuple[str, ...] = ()
    #: The From address when the header holds exactly one valid mailbox ("" otherwise).
    from_address: str = ""
    #: Why the From header is not a valid single mailbox ("" when it is).
    from_problem: str = ""
    message_ids: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    #: Why Date is not valid ("" when it is).
    date_problem: str = ""
    list_unsubscribe: tuple[str, ...] = ()
    list_unsubscribe_post: tuple[str, ...] = ()
    #: The addresses in List-Unsubscribe (``<...>`` items).
    unsubscribe_uris: tuple[str, ...] = ()
    #: Why the message could not be read at all ("" when it could).
    problem: str = ""

    @property
    def one_click(self) -> bool:
        """RFC 8058 one-click: an https: address and the exact List-Unsubscribe-Post value."""
        return self.https_unsubscribe and self.list_unsubscribe_post == (ONE_CLICK,)

    @property
    def https_unsubscribe(self) -> bool:
        """List-Unsubscribe offers an https: address (what one-click needs)."""
        return any(uri.lower().startswith("https://") for uri in self.unsubscribe_uris)

    @property
    def message_id_ok(self) -> bool:
        """Exactly one Message-ID of the form <left@right>."""
        return len(self.message_ids) == 1 and bool(_MESSAGE_ID.match(self.message_ids[0].strip()))


def _fields(header: bytes) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) of each header field, at most MAX_HEADER_FIELDS."""
    out: list[tuple[str, str]] = []
    for raw in re.split(rb"\r?\n(?![ \t])", header):
        if len(out) >= MAX_HEADER_FIELDS:
            break
        match = _NAME.match(raw)
        if match is None:
            continue
        value = raw[match.end():].decode("utf-8", "replace")
        value = re.sub(r"\r?\n[ \t]", " ", value).strip()[:MAX_VALUE]
        out.append((match.group(1).decode("ascii").lower(), value))
    return out


def _from_problem(values: list[str]) -> tuple[str, str]:
    """(address, problem) for the From header(s)."""
    if not values:
        return "", "the message has no From header"
    if len(values) > 1:
        return "", f"the message has {len(values)} From headers (RFC 5322 allows one)"
    pairs = email.utils.getaddresses(values)
    addresses = [addr for _name, addr in pairs if addr]
    if len(addresses) != 1:
        return "", ("the From header holds no address" if not addresses
                    else f"the From header holds {len(addresses)} addresses")
    address = addresses[0]
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or " " in address:
        return "", f"'{address[:100]}' is not a valid address"
    return address, ""


def _date_problem(values: list[str]) -> str:
    if not values:
        return "the message has no Date header"
    if len(values) > 1:
        return f"the message has {len(values)} Date headers (RFC 5322 allows one)"
    try:
        email.utils.parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError):
        return f"the Date header '{values[0][:60]}' is not an RFC 5322 date"
    return ""


def read_headers(data: bytes) -> MessageHeaders:
    """The sender-rule headers of a message (RFC 5322 bytes)."""
    header, _body, _whole = split_message(data)
    if not header:
        return MessageHeaders(problem="the file has no header section")
    fields = _fields(header)

    def values(name: str) -> list[str]:
        return [value for field, value in fields if field == name]

    address, from_problem = _from_problem(values("from"))
    unsubscribe = values("list-unsubscribe")
    uris = tuple(uri.strip() for value in unsubscribe for uri in _URI.findall(value))[:20]
    return MessageHeaders(
        from_values=tuple(values("from")), from_address=address, from_problem=from_problem,
        message_ids=tuple(values("message-id")), dates=tuple(values("date")),
        date_problem=_date_problem(values("date")), list_unsubscribe=tuple(unsubscribe),
        list_unsubscribe_post=tuple(values("list-unsubscribe-post")), unsubscribe_uris=uris)
