"""The two texts of MTA-STS (RFC 8461), parsed strictly: the ``_mta-sts`` TXT record and the policy.

Pure functions, no I/O: :mod:`mxwizard.probes.mta_sts` fetches, these read. Strict means each
departure from the RFC's grammar is kept as a problem in words, because senders differ in how
forgiving they are, and a policy that one sender ignores protects nothing at that sender. What
the RFC allows but some parsers trip over (bare LF line endings, which its grammar allows and its
prose does not) is kept apart, as a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: max_age bounds (RFC 8461 §3.2): at most one year; senders cache the policy that long.
MAX_AGE_LIMIT = 31_557_600
#: Below a day, senders re-fetch all the time and a short outage of the web server leaves mail
#: unprotected; the RFC recommends weeks.
MAX_AGE_RECOMMENDED = 86_400
#: Most lines and mx patterns read from a policy (real ones have a handful).
MAX_POLICY_LINES = 1000
MAX_MX_PATTERNS = 100

_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_EXT_VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_POLICY_VALUE = re.compile(r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")
_SINGLE_FIELDS = ("version", "mode", "max_age")


@dataclass(frozen=True)
class StsRecord:
    """The ``_mta-sts`` TXT record: its id, and what is wrong with it (empty when nothing)."""

    text: str
    id: str | None
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """Senders accept it (version first, a well-formed id, well-formed fields)."""
        return not self.problems and self.id is not None


def parse_sts_record(text: str) -> StsRecord:
    """Parse one TXT string that starts with ``v=STSv1`` (RFC 8461 §3.1)."""
    problems: list[str] = []
    fields = [f.strip(" \t") for f in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()  # a trailing ";" is allowed
    if not fields or fields[0] != "v=STSv1":
        problems.append("the record must begin with exactly 'v=STSv1;'")
    record_id: str | None = None
    for field in fields[1:]:
        name, sep, value = field.partition("=")
        if not sep:
            problems.append(f"'{field[:60]}' is not a name=value field")
        elif name == "id":
            if record_id is not None:
                problems.append("id= appears twice")
            elif not _ID.match(value):
                problems.append(f"id={value[:40]} is not 1 to 32 letters and digits")
            else:
                record_id = value
        elif not _EXT_NAME.match(name) or not _EXT_VALUE.match(value):
            problems.append(f"'{field[:60]}' is not a valid field")
    if record_id is None and not any(p.startswith("id=") for p in problems):
        problems.append("the record has no id= field (senders use it to notice a new policy)")
    return StsRecord(text, record_id, tuple(problems))


@dataclass(frozen=True)
class StsPolicy:
    """A policy file, parsed: the fields, and what is wrong or unusual in it."""

    version: str | None
    mode: str | None
    max_age: int | None
    mx: tuple[str, ...]
    #: Departures from RFC 8461 that make senders reject the policy (empty when valid).
    problems: tuple[str, ...] = ()
    #: Allowed but worth knowing (line endings, unknown fields, a short max_age).
    notes: tuple[str, ...] = ()
    #: "CRLF", "LF", "mixed" or "" (a policy of one line).
    line_endings: str = ""

    @property
    def valid(self) -> bool:
        """Senders can use it."""
        return not self.problems


def _mx_problem(pattern: str) -> str:
    """Why an ``mx:`` value is not a host name or ``*.``-wildcard (RFC 8461 §3.2), or ""."""
    name = pattern.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
        if "." not in name:
            return f"mx: {pattern[:80]} covers a whole top-level domain"
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return f"mx: {pattern[:80]} is not a host name or a '*.' pattern"
    return ""


def _line_endings(text: str) -> str:
    crlf = text.count("\r\n")
    bare = text.count("\n") - crlf
    if crlf and bare:
        return "mixed"
    return "CRLF" if crlf else "LF" if bare else ""


def parse_policy(body: bytes) -> StsPolicy:
    """Parse a policy file (RFC 8461 §3.2); ``body`` is at most the fetch limit already."""
    problems: list[str] = []
    notes: list[str] = []
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        problems.append("the policy contains bytes that are not ASCII")
    endings = _line_endings(text)
    if endings == "LF":
        notes.append("lines end in a bare LF: RFC 8461's grammar allows it, its text says CRLF, "
                     "and a few strict parsers refuse it")
    elif endings == "mixed":
        notes.append("lines end partly in CRLF and partly in a bare LF")
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line ending
    if len(lines) > MAX_POLICY_LINES:
        problems.append(f"the policy has more than {MAX_POLICY_LINES} lines")
        lines = lines[:MAX_POLICY_LINES]
    values: dict[str, str] = {}
    mx: list[str] = []
    for number, line in enumerate(lines, 1):
        if "\r" in line:
            problems.append(f"line {number} contains a lone carriage return")
            continue
        name, sep, value = line.partition(":")
        value = value.strip(" \t")
        if not sep or not name or name != name.strip() or not _POLICY_VALUE.match(value):
            problems.append(f"line {number} ('{line[:60]}') is not 'name: value'")
            continue
        if name == "mx":
            if len(mx) < MAX_MX_PATTERNS:
                mx.append(value)
            continue
        if name in _SINGLE_FIELDS:
            if name in values:
                problems.append(f"'{name}' appears more than once")
            values.setdefault(name, value)
        elif name.lower() in (*_SINGLE_FIELDS, "mx"):
            problems.append(f"line {number}: field names are lower case ('{name.lower()}', "
                            f"not '{name[:20]}')")
        elif _EXT_NAME.match(name):
            notes.append(f"unknown field '{name}' (ignored by senders)")
        else:
            problems.append(f"line {number}: '{name[:40]}' is not a valid field name")
    version = values.get("version")
    if version != "STSv1":
        problems.append("'version: STSv1' is missing" if version is None
                        else f"version is '{version[:20]}', not 'STSv1'")
    mode = values.get("mode")
    if mode not in ("enforce", "testing", "none"):
        problems.append("'mode:' is missing" if mode is None
                        else f"mode is '{mode[:20]}', not enforce, testing or none")
    max_age: int | None = None
    raw_age = values.get("max_age")
    if raw_age is None:
        problems.append("'max_age:' is missing")
    elif not raw_age.isdigit() or len(raw_age) > 10:
        problems.append(f"max_age '{raw_age[:20]}' is not a number of seconds")
    else:
        max_age = int(raw_age)
        if max_age > MAX_AGE_LIMIT:
            problems.append(f"max_age {max_age} is more than a year ({MAX_AGE_LIMIT} seconds)")
        elif max_age < MAX_AGE_RECOMMENDED:
            notes.append(f"max_age {max_age} is less than a day: senders keep the policy only "
                         "that long, so an outage of the web server leaves mail unprotected")
    problems.extend(p for p in (_mx_problem(pattern) for pattern in mx) if p)
    if not mx and mode in ("enforce", "testing"):
        problems.append("there is no 'mx:' line, so no MX host is allowed")
    return StsPolicy(version, mode, max_age, tuple(mx), tuple(problems), tuple(notes), endings)


def mx_matches(host: str, pattern: str) -> bool:
    """Does MX ``host`` match the policy's ``pattern`` (RFC 8461 §4.1: case-insensitive, a
    ``*.`` wildcard stands for exactly one leftmost label)?"""
    host = host.lower().rstrip(".")
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]
        label = host[: -len(suffix)] if host.endswith(suffix) else ""
        return bool(label) and "." not in label
    return host == pattern
