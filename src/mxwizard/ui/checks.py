"""The three checks the wizard can run, as the form sees them: fields, parsers and plan builders.

This is the wizard's side of the ``check`` commands: which questions to ask, how to validate the
answers (with the same :mod:`mxwizard.core.inputs` parsers as the command line, so a typo gets the same
one-sentence answer), and which plan builder turns them into a :class:`~mxwizard.diagnosis.tree.Plan`.
The plan builders are imported only when a check starts, and a missing one is reported as "not
available yet" instead of breaking the wizard. No diagnosis logic lives here.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mxwizard.core.inputs import (
    InputError,
    parse_address,
    parse_domain,
    parse_helo,
    parse_host_port,
    parse_ip,
)

if TYPE_CHECKING:
    from mxwizard.diagnosis.tree import Plan


class CheckNotAvailable(RuntimeError):
    """The plan builder for a check is not built yet (or failed to import)."""


@dataclass(frozen=True)
class Field:
    """One question of the input form."""

    #: The key in the form's values, in ``last.json`` and the plan builder's keyword.
    name: str
    #: The label shown above the input.
    label: str
    #: An example shown inside the empty input.
    placeholder: str
    #: Turns what was typed into the value the plan builder wants; raises InputError.
    parse: Callable[[str], object]
    #: Whether the field must be filled in.
    required: bool = True
    #: The command-line option that carries this field in a lab scenario's arguments
    #: (empty for the positional argument).
    option: str = ""


@dataclass(frozen=True)
class CheckKind:
    """A kind of check: its name, its form, and how to build its plan."""

    #: ``receive``, ``send`` or ``relay`` (the diagnosis kind and the help topic).
    kind: str
    #: The symptom as the user says it.
    title: str
    #: One sentence under the title of the form.
    intro: str
    fields: tuple[Field, ...]
    #: True when the user must agree before the check runs (the open-relay test).
    needs_consent: bool = False

    def parse(self, raw: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
        """Validate every field: returns (values for the plan builder, error message by field)."""
        values: dict[str, object] = {}
        errors: dict[str, str] = {}
        for field in self.fields:
            text = raw.get(field.name, "").strip()
            if not text:
                if field.required:
                    errors[field.name] = "Please fill in this field."
                values[field.name] = None
                continue
            try:
                values[field.name] = field.parse(text)
            except InputError as exc:
                errors[field.name] = str(exc)[:1].upper() + str(exc)[1:] + "."
        return values, errors

    def build_plan(self, values: Mapping[str, object]) -> Plan:
        """Import this kind's plan builder and call it with the parsed values."""
        try:
            module = importlib.import_module(f"mxwizard.diagnosis.plans.{self.kind}")
        except ImportError as exc:
            raise CheckNotAvailable(f"this check is not available yet ({exc})") from None
        builder: Any = getattr(module, "plan", None)
        if builder is None:
            raise CheckNotAvailable("this check is not available yet")
        return builder(**{field.name: values.get(field.name) for field in self.fields})

    def values_from_args(self, args: Sequence[str]) -> dict[str, str]:
        """Form values from a ``check`` command line (a lab scenario's arguments)."""
        words = list(args)
        if words[:1] == ["check"]:
            words = words[1:]
        if words[:1] == [self.kind]:
            words = words[1:]
        by_option = {field.option: field.name for field in self.fields if field.option}
        positional = [field.name for field in self.fields if not field.option]
        values: dict[str, str] = {}
        index = 0
        while index < len(words):
            word = words[index]
            option, eq, inline = word.partition("=")
            if word == "--private-network":  # a flag: the form's box under the fields
                values["private_network"] = "yes"
            elif option in by_option:
                if eq:
                    values[by_option[option]] = inline
                elif index + 1 < len(words):
                    values[by_option[option]] = words[index + 1]
                    index += 1
            elif word.startswith("--"):  # a network option such as --timeout: not a form field
                if not eq and index + 1 < len(words) and not words[index + 1].startswith("--"):
                    index += 1
            elif positional:
                values[positional.pop(0)] = word
            index += 1
        return values


def _message_file(value: str) -> str:
    path = os.path.expanduser(value)
    if not os.path.isfile(path):
        raise InputError(f"there is no file {value!r}")
    return path


RECEIVE = CheckKind(
    kind="receive",
    title="Mail does not reach me",
    intro="Which domain should receive mail? The wizard checks it the way a sender would.",
    fields=(
        Field("domain", "Your domain", "example.org", parse_domain),
        Field("mailbox", "Mailbox to try (optional)", "postmaster@example.org",
              lambda v: parse_address(v, "mailbox"), required=False, option="--mailbox"),
    ),
)

SEND = CheckKind(
    kind="send",
    title="My mail is rejected or lost",
    intro="Who sends to whom? The wizard checks what the receiver will check about you.",
    fields=(
        Field("sender", "Sender (your address)", "me@example.org",
              lambda v: parse_address(v, "sender address"), option="--from"),
        Field("recipient", "Recipient", "friend@example.net",
              lambda v: parse_address(v, "recipient address"), option="--to"),
        Field("ip", "Public IP (optional)", "192.0.2.25", parse_ip,
              required=False, option="--ip"),
        Field("helo", "HELO name (optional)", "mail.example.org", parse_helo,
              required=False, option="--helo"),
        Field("dkim_selector", "DKIM selector (optional)", "default",
              lambda v: parse_domain(v, "DKIM selector").ascii, required=False,
              option="--dkim-selector"),
        Field("message", "Sent message, .eml (optional)", "~/sent.eml",
              _message_file, required=False, option="--message"),
    ),
)

RELAY = CheckKind(
    kind="relay",
    title="Is my server an open relay?",
    intro="Which server should be tested? Only test servers you are responsible for.",
    fields=(
        Field("server", "Server (host or IP[:port])", "mail.example.org",
              parse_host_port),
    ),
    needs_consent=True,
)

CHECKS: dict[str, CheckKind] = {check.kind: check for check in (SEND, RECEIVE, RELAY)}
