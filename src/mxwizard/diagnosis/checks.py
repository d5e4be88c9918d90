"""The checks, each defined once: its question, its inputs and its plan.

A :class:`Check` is everything the rest of the tool needs to know about one kind of check: the
command line builds ``mxwizard check KIND`` from its fields (each with its parser from
:mod:`mxwizard.core.inputs`, so a typo gets the same sentence everywhere), the wizard builds its
form from the same fields, reports take their headline from its question, and the lab's
scenarios turn their inputs into a command line through it. Adding a check is adding an entry
here and the plan it builds (CONTRIBUTING.md has the recipe).

This module is read when the command line starts, so ``--help`` must stay fast: it imports no
probe and no plan. Each plan builder imports its plan module when a check actually runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from mxwizard.core.inputs import (
    InputError,
    parse_address,
    parse_dkim_selector,
    parse_domain,
    parse_helo,
    parse_host_port,
    parse_ip,
    parse_message_file,
)
from mxwizard.core.untrusted import visible

if TYPE_CHECKING:
    from mxwizard.diagnosis.tree import Plan


@dataclass(frozen=True)
class Field:
    """One input of a check: a command-line argument or option, and a field of the form."""

    #: The plan builder's keyword; also the key of the form's values, of ``last.json`` and of
    #: a lab scenario's inputs.
    name: str
    #: Turns what was typed into the value the plan builder wants; raises InputError.
    parse: Callable[[str], object]
    #: The form's label.
    label: str
    #: An example shown inside the empty input of the form.
    placeholder: str
    #: The command-line option (``--from``), or "" for the positional argument.
    option: str = ""
    #: The command line's name for the value in ``--help`` (``ADDR``, ``HOST[:PORT]``).
    metavar: str = ""
    #: One line of ``--help`` (arguments have none: the command's own help names them).
    help: str = ""
    required: bool = True


@dataclass(frozen=True)
class Check:
    """One kind of check, as every part of the tool sees it."""

    #: ``receive``, ``send`` or ``relay``: the subcommand, the diagnosis's kind, the help topic.
    kind: str
    #: The question the report answers, with ``{target}`` for what was checked.
    question: str
    #: The symptom as the user says it: the wizard's menu entry and the form's heading.
    title: str
    #: One sentence under the form's heading.
    intro: str
    #: The command's ``--help`` line.
    summary: str
    #: Its line in the list of ``check --help`` (short enough for 80 columns, never cut).
    question_short: str
    fields: tuple[Field, ...]
    #: Makes the plan from the parsed values, by field name (absent optional fields are None).
    build: Callable[[Mapping[str, Any]], Plan]
    #: True when the wizard asks the user's consent before it runs (the open-relay test).
    needs_consent: bool = False
    #: Command lines shown under "Examples" in ``--help``.
    examples: tuple[str, ...] = ()

    def parse(self, inputs: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
        """Validate the inputs (what was typed, by field name): the values for the plan
        builder, and the error of each field that has one, as a sentence."""
        values: dict[str, object] = {}
        errors: dict[str, str] = {}
        for field in self.fields:
            text = inputs.get(field.name, "").strip()
            values[field.name] = None
            if not text:
                if field.required:
                    errors[field.name] = "Please fill in this field."
                continue
            try:
                values[field.name] = field.parse(text)
            except InputError as exc:
                errors[field.name] = str(exc)[:1].upper() + str(exc)[1:] + "."
        return values, errors

    def plan(self, values: Mapping[str, object]) -> Plan:
        """The plan for parsed ``values`` (as :meth:`parse` or the command line make them)."""
        return self.build({field.name: values.get(field.name) for field in self.fields})

    def command_line(self, inputs: Mapping[str, str]) -> list[str]:
        """``check KIND ...``: the words after ``mxwizard`` that run this check on ``inputs``
        (values as typed, by field name; empty ones are left out)."""
        words = ["check", self.kind]
        words += [inputs[f.name] for f in self.fields if not f.option and inputs.get(f.name)]
        for field in self.fields:
            if field.option and inputs.get(field.name):
                words += [field.option, inputs[field.name]]
        return words


def _receive_plan(values: Mapping[str, Any]) -> Plan:
    from mxwizard.diagnosis.plans import receive

    return receive.plan(values["domain"], values["mailbox"])


def _send_plan(values: Mapping[str, Any]) -> Plan:
    from mxwizard.diagnosis.plans import send

    return send.plan(values["sender"], values["recipient"], ip=values["ip"], helo=values["helo"],
                     dkim_selector=values["dkim_selector"], message=values["message"])


def _relay_plan(values: Mapping[str, Any]) -> Plan:
    from mxwizard.diagnosis.plans import relay

    return relay.plan(values["server"])


RECEIVE = Check(
    kind="receive",
    question="Can mail reach {target}?",
    title="Mail does not reach me",
    intro="Which domain should receive mail? The wizard checks it the way a sender would.",
    summary="Can the world deliver mail to DOMAIN? (MX records, their hosts, SMTP on port 25)",
    question_short="Can the world deliver mail to DOMAIN?",
    examples=("mxwizard check receive example.org",
              "mxwizard check receive example.org --mailbox alice@example.org --format json",
              "mxwizard check receive healthy.test --lab"),
    fields=(
        Field("domain", parse_domain, "Your domain", "example.org", metavar="DOMAIN"),
        Field("mailbox", partial(parse_address, what="mailbox"), "Mailbox to try (optional)",
              "postmaster@example.org", option="--mailbox", metavar="USER@DOMAIN",
              help="Also ask whether this mailbox is accepted.", required=False),
    ),
    build=_receive_plan,
)

SEND = Check(
    kind="send",
    question="Can mail from {target} be delivered?",
    title="My mail is rejected or lost",
    intro="Who sends to whom? The wizard checks what the receiver will check about you.",
    summary="Would mail from --from to --to be delivered? (IP, rDNS, HELO, blocklists, SPF, DKIM, "
            "DMARC)",
    question_short="Would mail from --from to --to be delivered?",
    examples=("mxwizard check send --from me@example.org --to friend@example.net",
              "mxwizard check send --from me@example.org --to friend@example.net \\",
              "    --ip 192.0.2.25 --helo mail.example.org --message sent.eml",
              "mxwizard check send --from alice@home.test --to bob@strict.test --lab -q"),
    fields=(
        Field("sender", partial(parse_address, what="sender address"), "Sender (your address)",
              "me@example.org", option="--from", metavar="ADDR",
              help="The envelope sender (MAIL FROM)."),
        Field("recipient", partial(parse_address, what="recipient address"), "Recipient",
              "friend@example.net", option="--to", metavar="ADDR", help="The recipient (RCPT TO)."),
        Field("ip", parse_ip, "Public IP (optional)", "192.0.2.25", option="--ip", metavar="IP",
              help="Your server's public IP (default: detected).", required=False),
        Field("helo", parse_helo, "HELO name (optional)", "mail.example.org", option="--helo",
              metavar="NAME", required=False,
              help="The name your server says in HELO/EHLO ([192.0.2.1] for an address literal)."),
        Field("dkim_selector", parse_dkim_selector, "DKIM selector (optional)", "default",
              option="--dkim-selector", metavar="SEL", required=False,
              help="Check the DKIM key published under this selector."),
        Field("message", parse_message_file, "Sent message, .eml (optional)", "~/sent.eml",
              option="--message", metavar="FILE.eml", required=False,
              help="Verify the DKIM signature of this message."),
    ),
    build=_send_plan,
)

RELAY = Check(
    kind="relay",
    question="Is {target} an open relay?",
    title="Is my server an open relay?",
    intro="Which server should be tested? Only test servers you are responsible for.",
    summary="Is HOST an open relay? Never sends a message (no DATA).",
    question_short="Is HOST an open relay? (never sends a message)",
    examples=("mxwizard check relay mail.example.org",
              "mxwizard check relay 192.0.2.25:587",
              "mxwizard check relay relay.open.test --lab"),
    fields=(
        Field("server", parse_host_port, "Server (host or IP[:port])", "mail.example.org",
              metavar="HOST[:PORT]"),
    ),
    build=_relay_plan,
    needs_consent=True,
)

#: The checks by kind, in the order the wizard offers them.
CHECKS: dict[str, Check] = {check.kind: check for check in (SEND, RECEIVE, RELAY)}

#: The question of a diagnosis that is no check: an explained bounce.
EXPLAIN_QUESTION = "What does this bounce mean?"


def question(kind: str, target: Mapping[str, str], limit: int = 200) -> str:
    """The question a diagnosis answers, with its target made visible ("Can mail reach
    example.org?"): the headline of every report and of the wizard's verdict."""
    check = CHECKS.get(kind)
    template = check.question if check is not None else \
        EXPLAIN_QUESTION if kind == "explain" else "{target}"
    shown = target.get("shown") or " ".join(str(v) for v in target.values())
    return template.format(target=visible(shown, limit))
