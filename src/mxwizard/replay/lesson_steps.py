"""The words of a lesson: how a session splits into steps, and what to say before and after each.

An SMTP lesson moves one command at a time: the first step is the connection and the greeting,
then every command we send together with the server's reply to it. Before a step, the class reads
what we are about to send and why; after it, what the reply means (its class, its enhanced code,
what the receiver checked). A DNS lesson moves one lookup at a time: what we ask and why, then what
the answer means, keeping "no such name", "no such record", "the server failed" and "nobody
answered" apart.

Pure and free of Textual, so the words can be tested on their own. Every piece of text that came
from the network passes :func:`~mxwizard.core.untrusted.visible` here; the screens still show the
results as plain content, never as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mxwizard.core.transcript import Direction, Transcript, TranscriptLine
from mxwizard.core.untrusted import visible
from mxwizard.knowledge.replies import CLASS_NOTE, enhanced_meaning, meaning, parse_reply
from mxwizard.knowledge.smtp_commands import (
    ANOMALIES,
    COMMANDS,
    CONNECT_CHECKS,
    END_OF_MESSAGE_NOTE,
    MESSAGE_NOTE,
    REDACTED_NOTE,
    command_note,
)
from mxwizard.probes.dns import Lookup, Outcome, reversed_address


@dataclass(frozen=True)
class SmtpStep:
    """One step of an SMTP lesson: lines ``start`` to ``end`` (exclusive) of the flat line list."""

    transcript: Transcript
    start: int
    end: int
    lines: tuple[TranscriptLine, ...]

    @property
    def command(self) -> TranscriptLine | None:
        """The line we sent that opens the step (None for the connection and greeting)."""
        first = self.lines[0]
        return first if first.dir is Direction.CLIENT else None


#: A line together with the session it belongs to.
SessionLine = tuple[Transcript, TranscriptLine]


def smtp_steps(transcripts: list[Transcript]) -> tuple[list[SessionLine], list[SmtpStep]]:
    """Every line of every session in session order, and the steps they form."""
    flat: list[SessionLine] = []
    steps: list[SmtpStep] = []
    for transcript in transcripts:
        groups: list[list[TranscriptLine]] = []
        for line in transcript.lines:
            joins_message = (line.dir is Direction.CLIENT and line.text == "." and groups
                             and groups[-1][0].text.startswith("<message"))
            if not groups or (line.dir is Direction.CLIENT and not joins_message):
                groups.append([])
            groups[-1].append(line)
        for group in groups:
            start = len(flat)
            flat.extend((transcript, line) for line in group)
            steps.append(SmtpStep(transcript, start, len(flat), tuple(group)))
    return flat, steps


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def smtp_before(step: SmtpStep) -> tuple[str, str]:
    """What we are about to do in ``step``, and why: (headline, explanation).

    The headline starts in lower case ("we send EHLO ...") to follow a label such as "Next: ".
    """
    command = step.command
    where = (f"{visible(step.transcript.host, 80)} [{visible(step.transcript.ip, 60)}] "
             f"port {step.transcript.port}")
    if command is None:
        return (f"we connect to {where} and wait: the server speaks first.",
                "Its greeting says whether it will talk to us. " + CONNECT_CHECKS)
    tls = " (inside TLS: encrypted)" if command.encrypted else ""
    if command.text.startswith("<message"):
        return f"we send the message itself{tls}.", _sentence(MESSAGE_NOTE) + " " + \
            _sentence(END_OF_MESSAGE_NOTE)
    if command.text == "<redacted>":
        return f"we answer the login challenge{tls}.", _sentence(REDACTED_NOTE)
    verb, _, argument = command.text.partition(" ")
    verb = verb.upper()
    info = COMMANDS.get(verb)
    shown = visible(command.text, 70)
    if info is None:
        return (f"we send {shown}{tls}.",
                _sentence(command_note(visible(verb, 20), visible(argument, 40))))
    why = _sentence(command_note(verb, _argument(argument)))
    return f"we send {shown}{tls}", f"{why} {info.explanation}"


def _argument(rest: str) -> str:
    if "<" in rest and ">" in rest:
        rest = rest[rest.index("<"): rest.index(">") + 1]
    return visible(rest, 40)


_CLASS_GLYPH = {"success": "✔", "intermediate": "→", "temporary": "⏳", "permanent": "✖"}


def smtp_after(step: SmtpStep) -> tuple[str, str]:
    """What the reply in ``step`` means: (headline, explanation)."""
    command = step.command
    verb = ""
    if command is not None:
        verb = "DATA" if command.text.startswith("<message") else command.text.split(" ", 1)[0].upper()
    replies = [line for line in step.lines if line.dir is Direction.SERVER]
    errors = [line for line in step.lines if line.dir is Direction.ERROR]
    after = [line for line in step.lines[1:] if line.dir is Direction.INFO
             and (not replies or step.lines.index(line) > step.lines.index(replies[-1]))]
    then = " ".join(f"Then: {visible(line.text, 120)} ({visible(line.note, 100)})." if line.note
                    else f"Then: {visible(line.text, 120)}." for line in after[:2])
    if not replies:
        if errors:
            error = errors[0]
            return (f"✖ No reply: {visible(error.text, 120)}",
                    " ".join(filter(None, (_sentence(visible(error.note, 200)), then))))
        if command is not None and command.text.startswith("<message"):
            return "The message is on its way; the lone dot ends it.", then
        return "No reply to this step.", then
    parsed = parse_reply(replies[0].text)
    if parsed is None:
        explanation = ANOMALIES["not-a-reply"][1]
        return f"✖ Not an SMTP reply: {visible(replies[0].text, 80)}", f"{explanation} {then}".strip()
    code, enhanced, text = parsed
    pieces = [" ".join(filter(None, (enhanced, text)))]
    for line in replies[1:]:
        more = parse_reply(line.text)
        if more is not None:
            pieces.append(more[2])
    found = meaning(code, " ".join(pieces))
    info = COMMANDS.get(verb)
    topic = found.note.removeprefix(f"{CLASS_NOTE[found.klass]}: ")
    if enhanced:
        topic = topic.removesuffix(f" ({enhanced})")
    what = info.accepted if info is not None and 200 <= code < 400 else topic
    if not verb:
        what = "the server is ready" if code == 220 else topic
    who = f"{visible(verb, 20)} answered" if verb else "The greeting"
    head = f"{_CLASS_GLYPH[found.klass]} {who}: {code} {CLASS_NOTE[found.klass]}: {what}"
    if enhanced:
        head += f" ({enhanced})"
    checked = CONNECT_CHECKS if not verb else (info.checks if info is not None else "")
    if found.klass in ("success", "intermediate"):  # the headline said it: keep the details
        specific = enhanced is not None and not enhanced.endswith(".0.0")
        body = f"Enhanced code {enhanced}: {enhanced_meaning(enhanced or '')}" if specific else ""
    else:
        body = found.explanation
    extensions = (f"The reply lists {len(replies) - 1} extensions, one a line."
                  if len(replies) > 2 and verb == "EHLO" else "")
    checks = f"What the receiver checked: {checked}" if checked else ""
    return visible(head, 200), " ".join(filter(None, (extensions, body.strip(), checks, then)))


# --- DNS -------------------------------------------------------------------------------------

_REVERSED_V4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(.+)$")


def _blocklist(lookup: Lookup) -> tuple[str, str] | None:
    """(address, zone) when the lookup asks a blocklist about an IPv4 address."""
    name = lookup.qname.rstrip(".").lower()
    match = _REVERSED_V4.match(name)
    if lookup.qtype != "A" or match is None or name.endswith("in-addr.arpa"):
        return None
    return ".".join(reversed(match.groups()[:4])), match[5]


def _txt_kind(qname: str) -> str:
    name = qname.lower()
    if name.startswith("_dmarc."):
        return "dmarc"
    if "._domainkey." in name:
        return "dkim"
    return "spf"


def dns_before(lookup: Lookup) -> tuple[str, str]:
    """What we ask in ``lookup``, and why: (headline, explanation)."""
    qname = visible(lookup.qname, 120)
    ask = f"We ask {visible(lookup.server, 60) or 'the DNS server'}: {qname} {lookup.qtype}?"
    listed = _blocklist(lookup)
    if listed is not None:
        return ask, (f"Is the address {listed[0]} on the blocklist {visible(listed[1], 60)}? A "
                     "blocklist is asked with the address written backwards in front of its zone; "
                     "it answers 127.0.0.x when the address is listed, and 'no such name' when not.")
    why = {
        "MX": f"Where does mail for {qname} go? The MX records name the mail hosts that accept the "
              "domain's mail, each with a preference number. Senders ask this first.",
        "A": f"What is the IPv4 address of {qname}? A sender needs the mail host's address before "
             "it can connect to it.",
        "AAAA": f"What is the IPv6 address of {qname}? Senders that speak IPv6 may try it first.",
        "PTR": "Which name does the address claim? Receivers look up the reverse DNS (PTR) of every "
               "connecting address, compare it with the HELO name and check that it leads back.",
        "CNAME": f"Is {qname} an alias for another name?",
        "NS": f"Which name servers are responsible for {qname}?",
        "SOA": f"Who is the authority for the zone of {qname}?",
    }.get(lookup.qtype, f"Which {lookup.qtype} records does {qname} have?")
    address = reversed_address(lookup.qname) if lookup.qtype == "PTR" else ""
    if address:
        why = f"Which name does the address {address} claim? " + why.split("? ", 1)[1]
    if lookup.qtype == "TXT":
        why = {
            "spf": f"Does {qname} publish SPF, the list of addresses allowed to send its mail? "
                   "SPF lives in a TXT record starting with v=spf1.",
            "dmarc": "Does the domain publish a DMARC policy? It says what receivers should do with "
                     "mail that fails SPF and DKIM alignment, and where to send reports.",
            "dkim": "Is the DKIM public key published under this selector? Receivers fetch it to "
                    "check the signature on each message.",
        }[_txt_kind(lookup.qname)]
    return ask, why


_OUTCOME_WORDS = {
    Outcome.ANSWER: "NOERROR, with records", Outcome.NODATA: "NOERROR but no records (NODATA)",
    Outcome.NXDOMAIN: "NXDOMAIN: no such name", Outcome.SERVFAIL: "SERVFAIL: the server failed",
    Outcome.REFUSED: "REFUSED: the server will not answer us", Outcome.TIMEOUT: "no answer in time",
    Outcome.ERROR: "an error",
}


def dns_after(lookup: Lookup) -> tuple[str, str]:
    """What the answer to ``lookup`` means: (headline, explanation)."""
    head = f"◀ Answer: {_OUTCOME_WORDS[lookup.outcome]}, after {lookup.ms:.0f} ms"
    outcome = lookup.outcome
    listed = _blocklist(lookup)
    if outcome is Outcome.ANSWER:
        return head, _answered(lookup, listed is not None)
    if outcome is Outcome.NODATA:
        return head, {
            "MX": "The domain exists but publishes no MX record. Senders then fall back to the "
                  "domain's own A/AAAA address (RFC 5321), which is rarely what the owner meant.",
            "AAAA": "No IPv6 address: senders use the IPv4 one. That is not a fault.",
            "A": "The name exists but has no IPv4 address.",
            "PTR": "The reverse name exists but holds no PTR record: to a receiver, the address "
                   "has no name.",
            "TXT": "The name exists but publishes no TXT record, so nothing of this kind is set up.",
        }.get(lookup.qtype, "The name exists, but not with records of this type.") + \
            " NODATA means 'the name is there, this record type is not'; it is not NXDOMAIN."
    if outcome is Outcome.NXDOMAIN:
        if listed is not None:
            return head, ("Not listed: the blocklist has no entry for this address. Here "
                          "NXDOMAIN is the good answer.")
        return head, {
            "MX": "The domain does not exist at all. Mail to it bounces at once.",
            "PTR": "The address has no reverse DNS at all. Many receivers refuse mail from "
                   "addresses without a name.",
        }.get(lookup.qtype, "This name does not exist at all.") + \
            " NXDOMAIN means no record of any type exists under this name, unlike NODATA."
    if outcome is Outcome.SERVFAIL:
        return head, ("The server could not produce an answer, often because the domain's own "
                      "name servers are broken or its DNSSEC signatures fail. This is neither yes "
                      "nor no: senders keep the mail and retry later.")
    if outcome is Outcome.REFUSED:
        return head, ("The server refused to answer us: it is not responsible for this zone or "
                      "does not serve our address. Ask another resolver.")
    if outcome is Outcome.TIMEOUT:
        return head, ("Nobody answered in time: the server is down, overloaded or behind a "
                      "firewall. This says nothing about the records; senders retry later.")
    note = visible(lookup.note, 200)
    return head, f"The question failed{': ' + note if note else ''}."


def _answered(lookup: Lookup, blocklist: bool) -> str:
    records = lookup.records()
    chain = lookup.cname_chain
    alias = (f" The name is an alias (CNAME) for {visible(chain[-1], 80)}." if chain else "")
    if blocklist:
        codes = ", ".join(visible(str(v), 20) for v in lookup.values()) or "an address"
        return (f"Listed: the blocklist answered {codes}. Receivers that use this list refuse or "
                "mark mail from the address; the code says why it is listed.")
    if lookup.qtype == "MX":
        hosts = sorted((v for v in lookup.values() if isinstance(v, tuple)), key=lambda v: v[0])
        if len(hosts) == 1 and str(hosts[0][1]).strip(".") == "":
            return "A null MX (MX 0 .): the domain says it accepts no mail at all (RFC 7505)."
        named = ", ".join(f"{visible(str(h), 60)} ({p})" for p, h in hosts[:6])
        return (f"Mail for {visible(lookup.qname, 80)} goes to {named}. Senders try the lowest "
                "number first and use the others when it does not answer." + alias)
    if lookup.qtype in ("A", "AAAA"):
        addresses = ", ".join(visible(str(v), 40) for v in lookup.values()[:6])
        return f"{visible(lookup.qname, 80)} is at {addresses}: this is where a sender connects.{alias}"
    if lookup.qtype == "PTR":
        names = ", ".join(visible(str(v), 80) for v in lookup.values()[:3])
        return (f"The address claims the name {names}. A receiver looks that name up in turn: it "
                "should lead back to the same address (forward-confirmed reverse DNS) and should "
                "not look like a dynamic home line.")
    if lookup.qtype == "TXT":
        texts = [visible(t, 160) for t in lookup.texts()]
        kind = _txt_kind(lookup.qname)
        wanted = {"spf": "v=spf1", "dmarc": "v=DMARC1", "dkim": ""}[kind]
        mine = [t for t in texts if t.lower().startswith(wanted.lower())] if wanted else texts
        if not mine:
            return f"{len(texts)} TXT record(s), but none of them is {kind.upper()}."
        return f"The {kind.upper()} record: {mine[0]}" + (
            " (more than one SPF record is an error)" if kind == "spf" and len(mine) > 1 else "")
    shown = "; ".join(visible(r.text, 100) for r in records[:4])
    return f"{len(records)} record(s): {shown}.{alias}"
