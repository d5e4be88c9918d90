"""SPF record text, taken apart (RFC 7208 §4.6, §12): pure, and never raises.

pyspf gives the verdict; this parser gives what a person needs to read a record: its terms,
which of them cost a DNS lookup (the limit is ten), where it includes or redirects, and what is
malformed. Records come from DNS, so anything at all may arrive here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
#: Terms that make the receiver ask DNS, counted against the limit of ten (RFC 7208 §4.6.4).
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_NAME = re.compile(r"[a-z][a-z0-9_.-]*\Z")
_VERSION = re.compile(r"v=spf1(?: |\Z)", re.IGNORECASE)


@dataclass(frozen=True)
class SpfTerm:
    """One term of a record: a mechanism (with its qualifier) or a modifier (name=value)."""

    raw: str
    name: str
    value: str = ""
    qualifier: str = "+"
    is_modifier: bool = False


@dataclass(frozen=True)
class SpfRecord:
    """A parsed SPF record."""

    text: str
    terms: tuple[SpfTerm, ...]
    #: Syntax problems found (unknown mechanisms, bad qualifiers, repeated modifiers...).
    problems: tuple[str, ...] = ()

    @property
    def mechanisms(self) -> list[SpfTerm]:
        """The mechanisms, in order."""
        return [t for t in self.terms if not t.is_modifier]

    @property
    def includes(self) -> list[str]:
        """The domains named by ``include:`` terms."""
        return [t.value for t in self.terms if t.name == "include" and t.value]

    @property
    def redirect(self) -> str | None:
        """The ``redirect=`` domain, if any."""
        return next((t.value for t in self.terms if t.name == "redirect" and t.is_modifier), None)

    @property
    def lookup_terms(self) -> int:
        """How many terms of this record (alone) cost a DNS lookup."""
        return sum(1 for t in self.terms if t.name in LOOKUP_TERMS)

    @property
    def all_qualifier(self) -> str | None:
        """The qualifier of ``all`` ("-", "~", "?", "+"), or None when the record has no ``all``."""
        return next((t.qualifier for t in self.terms if t.name == "all" and not t.is_modifier), None)


def is_spf(text: str) -> bool:
    """True when a TXT string is an SPF record (``v=spf1`` alone or followed by a space)."""
    return bool(_VERSION.match(text))


def spf_records(texts: Iterable[str]) -> list[str]:
    """The SPF records among a name's TXT strings (more than one is a permerror)."""
    return [t for t in texts if is_spf(t)]


def _term(raw: str) -> tuple[SpfTerm, str]:
    """One term and a problem description ("" when it is well formed)."""
    qualifier = "+"
    body = raw
    if body[:1] in QUALIFIERS:
        qualifier, body = body[0], body[1:]
    eq, colon, slash = body.find("="), body.find(":"), body.find("/")
    cut = [i for i in (colon, slash) if i >= 0]
    if eq > 0 and (not cut or eq < min(cut)):
        name, value = body[:eq].lower(), body[eq + 1:]
        problem = "" if _NAME.match(name) and qualifier == "+" and raw[:1] not in QUALIFIERS \
            else f"malformed modifier {raw!r}"
        return SpfTerm(raw, name, value, "+", True), problem
    split = min(cut) if cut else len(body)
    name, value = body[:split].lower(), body[split:]
    value = value[1:] if value.startswith(":") else value
    if name not in MECHANISMS:
        hint = " (did you mean ip4?)" if name in {"ip", "ipv4"} else ""
        return SpfTerm(raw, name, value, qualifier), f"unknown mechanism {raw!r}{hint}"
    needs_value = name in {"include", "exists", "ip4", "ip6"}
    if needs_value and not value:
        return SpfTerm(raw, name, value, qualifier), f"{name} needs a value: {raw!r}"
    if name == "all" and value:
        return SpfTerm(raw, name, value, qualifier), f"all takes no value: {raw!r}"
    return SpfTerm(raw, name, value, qualifier), ""


def parse_spf(text: str) -> SpfRecord:
    """Take a record apart; never raises. Problems are collected, not thrown."""
    problems: list[str] = []
    if not is_spf(text):
        return SpfRecord(text, (), ("not an SPF record (it must start with v=spf1)",))
    terms: list[SpfTerm] = []
    for raw in text.split(" ")[1:]:
        if not raw:
            continue
        term, problem = _term(raw)
        terms.append(term)
        if problem:
            problems.append(problem)
    for modifier in ("redirect", "exp"):
        if sum(1 for t in terms if t.is_modifier and t.name == modifier) > 1:
            problems.append(f"{modifier}= appears more than once")
    if not text.isascii():
        problems.append("the record contains characters that are not ASCII")
    return SpfRecord(text, tuple(terms), tuple(problems))
