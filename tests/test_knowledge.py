"""The SMTP knowledge base: reply codes, enhanced status codes, provider texts, bounce classes."""

from __future__ import annotations

import pytest

from mxwizard.knowledge import enhanced
from mxwizard.knowledge.bounces import BOUNCE_CLASSES, BRANCH_LABELS, THEIR_DOMAIN, THEM, YOU
from mxwizard.knowledge.providers import GENERIC, PROVIDER_SIGNATURES
from mxwizard.knowledge.replies import (
    NOTE_LIMIT,
    REPLY_CODES,
    ReplyMeaning,
    enhanced_meaning,
    meaning,
    parse_reply,
)
from mxwizard.knowledge.signatures import class_for_enhanced, provider_of, recognise

#: Every code RFC 3463 registers (subject, detail).
RFC_3463 = [
    (0, 0),
    *[(1, d) for d in range(0, 9)],
    *[(2, d) for d in range(0, 5)],
    *[(3, d) for d in range(0, 6)],
    *[(4, d) for d in range(0, 8)],
    *[(5, d) for d in range(0, 6)],
    *[(6, d) for d in range(0, 6)],
    *[(7, d) for d in range(0, 8)],
]


def test_every_rfc_3463_code_is_known() -> None:
    missing = [f"X.{s}.{d}" for s, d in RFC_3463 if (s, d) not in enhanced.CODES]
    assert not missing
    assert all(enhanced.CODES[code].source == "RFC 3463" for code in RFC_3463)


@pytest.mark.parametrize(("code", "source"), [
    ("5.7.20", "RFC 7372"), ("5.7.21", "RFC 7372"), ("5.7.22", "RFC 7372"), ("5.7.23", "RFC 7372"),
    ("5.7.24", "RFC 7372"), ("5.7.25", "RFC 7372"), ("5.7.26", "RFC 7372"),
    ("5.1.10", "RFC 7505"), ("5.7.27", "RFC 7505"),
    ("5.7.8", "RFC 4954"), ("5.7.9", "RFC 4954"), ("5.7.11", "RFC 4954"), ("5.7.13", "RFC 5248"),
    ("5.7.14", "RFC 5248"), ("5.7.15", "RFC 6710"), ("4.7.28", "IANA registry"), ("5.7.30", "RFC 8689"),
])
def test_later_registrations_are_known(code: str, source: str) -> None:
    entry = enhanced.lookup(code)
    assert entry is not None and entry.source == source
    assert source in enhanced_meaning(code)


def test_enhanced_meaning_in_plain_words_and_fallbacks() -> None:
    assert enhanced_meaning("5.7.25").startswith("Permanent failure: the sending IP has no PTR")
    assert "reverse" in enhanced.topic("4.7.25")
    assert enhanced_meaning("4.2.2").startswith("Temporary failure")
    # Unregistered detail: the class and the subject area are still explained.
    assert enhanced_meaning("5.1.99") == ("Permanent failure, addressing status; detail 99 is not a "
                                          "registered code, so only the area is known.")
    assert "unregistered subject area" in enhanced_meaning("4.9.1")
    for garbage in ("", "5.7", "6.1.1", "5.7.1.2", "x.y.z", "5.7.1000"):
        assert "not an enhanced status code" in enhanced_meaning(garbage)


@pytest.mark.parametrize(("line", "expected"), [
    ("550-5.7.1 text", (550, "5.7.1", "text")),
    ("550 5.7.1 text", (550, "5.7.1", "text")),
    ("250 2.1.5 Ok\r\n", (250, "2.1.5", "Ok")),
    ("354 End data with <CR><LF>.<CR><LF>", (354, None, "End data with <CR><LF>.<CR><LF>")),
    ("221", (221, None, "")),
    ("421-mx.example.net busy", (421, None, "mx.example.net busy")),
    ("550 5.1.10", (550, "5.1.10", "")),
    ("550 5.7.1text", (550, None, "5.7.1text")),
])
def test_parse_reply(line: str, expected: tuple[int, str | None, str]) -> None:
    assert parse_reply(line) == expected


@pytest.mark.parametrize("line", ["", "hello", "55", "5500 text", "650 x", "150 go", "550text",
                                  "EHLO mx.example.net", "2.0.0 ok"])
def test_parse_reply_refuses_what_is_not_a_reply(line: str) -> None:
    assert parse_reply(line) is None


def test_every_common_code_has_a_meaning() -> None:
    common = [211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 454, 455, 500,
              501, 502, 503, 504, 521, 530, 534, 535, 550, 551, 552, 553, 554, 556]
    assert not [code for code in common if code not in REPLY_CODES]
    for code in common:
        found = meaning(code, "")
        assert found.klass == {2: "success", 3: "intermediate", 4: "temporary", 5: "permanent"}[code // 100]
        assert found.note and len(found.note) <= NOTE_LIMIT
        assert found.bounce_class is None or code >= 400


def test_meaning_reads_the_enhanced_code_and_keeps_the_note_short() -> None:
    found = meaning(550, "5.7.1 " + "blah " * 200)
    assert isinstance(found, ReplyMeaning)
    assert found.enhanced == "5.7.1" and found.klass == "permanent"
    assert found.note == "permanent failure: policy rejection (5.7.1)"
    long_topic = meaning(421, "4.7.0 [TSS04] Messages temporarily deferred due to unexpected volume or "
                              "user complaints")
    assert len(long_topic.note) <= NOTE_LIMIT
    success = meaning(250, "2.0.0 Ok: queued as 4F1A2B3C4D")
    assert success.note == "success: OK (2.0.0)" and success.bounce_class is None


#: Rejection texts from the big providers, MTAs and blocklists: (code, text, class, provider).
PROVIDER_TEXTS = [
    (421, "4.7.28 [198.51.100.23 15] Our system has detected an unusual rate of unsolicited mail "
          "originating from your IP address. - gsmtp", "rate-limited", "Gmail"),
    (550, "5.7.1 [198.51.100.23] The IP you're using to send mail is not authorized to send email "
          "directly to our servers. Please use the SMTP relay at your service provider instead.",
     "blocked-ip", "Gmail"),
    (550, "5.7.25 [198.51.100.23] The IP address sending this message does not have a PTR record "
          "setup, or the corresponding forward DNS entry does not point to the sending IP.",
     "rdns-or-helo", "Gmail"),
    (550, "5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all "
          "senders to authenticate with either SPF or DKIM.", "auth-failed", "Gmail"),
    (550, "5.1.1 The email account that you tried to reach does not exist. - gsmtp", "user-unknown",
     "Gmail"),
    (552, "5.2.2 The email account that you tried to reach is over quota. - gsmtp", "mailbox-full", "Gmail"),
    (452, "4.2.2 The email account that you tried to reach is over quota. - gsmtp", "mailbox-full", "Gmail"),
    (501, "5.5.4 HELO/EHLO argument is invalid. - gsmtp", "rdns-or-helo", "Gmail"),
    (550, "5.7.1 Unfortunately, messages from [198.51.100.23] weren't sent. Please contact your Internet "
          "service provider since part of their network is on our block list (S3140).", "blocked-ip",
     "Outlook"),
    (550, "5.7.1 Unfortunately, messages from [198.51.100.23] weren't sent. (S3150)", "blocked-ip",
     "Outlook"),
    (550, "5.7.1 Unfortunately, messages from [198.51.100.23] weren't sent. (S3115)", "blocked-ip",
     "Outlook"),
    (550, "5.7.606 Access denied, banned sending IP [198.51.100.23].", "blocked-ip", "Outlook"),
    (550, "5.7.649 Access denied, banned sending IP [198.51.100.23].", "blocked-ip", "Outlook"),
    (451, "4.7.650 The mail server [198.51.100.23] has been temporarily rate limited due to IP "
          "reputation.", "rate-limited", "Outlook"),
    (550, "5.5.0 Requested action not taken: mailbox unavailable (S2017062302)", "user-unknown",
     "Outlook"),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     "user-unknown", "Exchange"),
    (421, "4.7.0 [TSS04] Messages from 198.51.100.23 temporarily deferred due to unexpected volume or "
          "user complaints", "rate-limited", "Yahoo"),
    (421, "4.7.0 [TSS09] All messages from 198.51.100.23 will be permanently deferred; Retrying will "
          "NOT succeed.", "blocked-ip", "Yahoo"),
    (553, "5.7.1 [BL21] Connections will not be accepted from 198.51.100.23, because the ip is in "
          "Spamhaus's list", "blocked-ip", "Yahoo"),
    (553, "5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus PBL", "blocked-ip", "Yahoo"),
    (554, "5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
     "auth-failed", "Yahoo"),
    (554, "5.7.1 <bob@example.net>: Relay access denied", "relay-denied", "Postfix"),
    (454, "4.7.1 <bob@example.net>: Relay access denied", "relay-denied", "Postfix"),
    (550, "5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
     "user-unknown", "Postfix"),
    (504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", "rdns-or-helo",
     "Postfix"),
    (450, "4.7.25 Client host rejected: cannot find your hostname, [198.51.100.23]", "rdns-or-helo",
     "Postfix"),
    (554, "5.7.1 Service unavailable; Client host [198.51.100.23] blocked using zen.spamhaus.org",
     "blocked-ip", "Spamhaus"),
    (554, "5.7.1 Service unavailable; Client host [198.51.100.23] blocked using bl.spamcop.net",
     "blocked-ip", "SpamCop"),
    (554, "Service unavailable; Client host [198.51.100.23] blocked using b.barracudacentral.org",
     "blocked-ip", "Barracuda"),
    (550, "5.7.1 URL in this message is listed in dbl.spamhaus.org", "spam-content", "Spamhaus"),
    (550, "rejected RCPT <bob@example.net>: no such user", "user-unknown", "Exim"),
    (550, "Unrouteable address", "host-unknown", "Exim"),
    (451, "4.7.1 <bob@example.net>: Recipient address rejected: Greylisted, see http://postgrey",
     "greylisted", "Postfix"),
    (451, "4.7.1 Please try again later", "greylisted", None),
    (450, "4.7.1 greylist: come back in 5 minutes", "greylisted", None),
    (550, "5.7.1 try again later", None, None),  # permanent: not greylisting, and too vague
]


@pytest.mark.parametrize(("code", "text", "bounce_class", "provider"), PROVIDER_TEXTS)
def test_provider_texts_are_recognised(code: int, text: str, bounce_class: str | None,
                                       provider: str | None) -> None:
    found = meaning(code, text)
    assert (found.bounce_class, found.provider) == (bounce_class, provider), found
    assert len(found.note) <= NOTE_LIMIT
    if bounce_class is not None:
        assert found.klass in ("temporary", "permanent")


def test_enhanced_code_alone_classifies_when_the_text_says_nothing() -> None:
    assert meaning(550, "5.1.1 nope").bounce_class == "user-unknown"
    assert meaning(550, "5.7.25 nope").bounce_class == "rdns-or-helo"
    assert meaning(556, "5.1.10 nope").bounce_class == "domain-accepts-no-mail"
    assert meaning(521, "nope").bounce_class == "domain-accepts-no-mail"
    assert meaning(550, "5.7.1 nope").bounce_class is None
    assert meaning(550, "5.2.1 nope").bounce_class == "mailbox-disabled"
    assert class_for_enhanced("5.7.27") == ("sender-rejected", None)
    assert class_for_enhanced("5.1.8") == ("sender-rejected", None)
    assert class_for_enhanced("2.1.1") is None and class_for_enhanced("bogus") is None


def test_success_and_intermediate_replies_never_classify() -> None:
    assert recognise(250, None, "Ok, user unknown to me but accepted") is None
    assert meaning(354, "spam welcome").bounce_class is None


def test_temporary_only_signatures_need_a_temporary_code() -> None:
    assert recognise(None, None, "please try again later") is None
    assert recognise(None, "4.7.1", "please try again later") is not None


def test_provider_hints() -> None:
    assert provider_of("550 5.7.1 ... - gsmtp") == "Gmail"
    assert provider_of("x.mail.protection.outlook.com") == "Outlook"
    assert provider_of("nothing to see") is None


def test_bounce_classes_cover_the_design_with_their_sides() -> None:
    sides = {
        "user-unknown": "them", "mailbox-full": "them", "host-unknown": "them", "relay-denied": "them",
        "blocked-ip": "you", "auth-failed": "you", "rdns-or-helo": "you", "spam-content": "you",
        "rate-limited": "you", "greylisted": "none", "expired": "network", "message-too-big": "you",
        "tls-required": "you", "network-error": "network", "sender-rejected": "you",
        "mailbox-disabled": "them", "policy-rejected": "them", "receiver-error": "them", "virus": "you",
        "message-malformed": "you", "domain-accepts-no-mail": "them",
    }
    assert {name: c.side for name, c in BOUNCE_CLASSES.items()} == sides
    for known in BOUNCE_CLASSES.values():
        assert known.title and known.explanation and known.fix
        assert known.next_check.startswith("mxwizard check ")
        assert known.branch in (*BRANCH_LABELS, "none")


def test_next_check_fills_in_the_addresses() -> None:
    blocked = BOUNCE_CLASSES["blocked-ip"]
    assert blocked.command("me@example.org", "you@example.net") == \
        "mxwizard check send --from me@example.org --to you@example.net"
    assert blocked.command() == f"mxwizard check send --from {YOU} --to {THEM}"
    host_unknown = BOUNCE_CLASSES["host-unknown"]
    assert host_unknown.command(None, "a@example.net") == "mxwizard check receive example.net"
    assert THEIR_DOMAIN in BOUNCE_CLASSES["expired"].command()
    # The send check also takes the IP and HELO a bounce named, right after the addresses.
    assert blocked.command("me@example.org", "you@example.net", "198.51.100.23", "mail.example.org") == \
        ("mxwizard check send --from me@example.org --to you@example.net --ip 198.51.100.23 "
         "--helo mail.example.org")
    rdns = BOUNCE_CLASSES["rdns-or-helo"]
    assert rdns.command("me@example.org", "you@example.net", None, "mx.example.org") == \
        "mxwizard check send --from me@example.org --to you@example.net --helo mx.example.org"


def test_branch_labels_are_the_wizards_own_menu_labels() -> None:
    """A fix that says "choose X in the wizard" must name a choice that exists, word for word."""
    from mxwizard.ui.screens.welcome import CHOICES

    labels = {choice: text for choice, _, text in CHOICES}
    assert {branch: labels[branch] for branch in BRANCH_LABELS} == BRANCH_LABELS


def test_every_signature_names_a_known_class_and_side() -> None:
    for signature in (*PROVIDER_SIGNATURES, *GENERIC):
        assert signature.bounce_class in BOUNCE_CLASSES, signature.topic
        assert signature.side in (None, "you", "them", "network", "none")
        assert signature.classes in ("", "4", "5", "45")
        assert 1 <= signature.strength <= 3 and signature.needs <= {"Gmail", "Yahoo", "Exchange", "Outlook",
                                                                     "Amazon SES"}
        assert len(f"permanent failure: {signature.topic} (5.7.606)") <= NOTE_LIMIT, signature.topic
    for value in enhanced.CODES:
        found = class_for_enhanced(f"5.{value[0]}.{value[1]}")
        assert found is None or found[0] in BOUNCE_CLASSES


@pytest.mark.parametrize("code", ["2.1.0", "2.1.5", "2.0.0", "2.6.0", "2.7.0", "2.5.0"])
def test_success_codes_never_read_as_a_problem(code: str) -> None:
    said = enhanced.enhanced_meaning(code).lower()
    assert said.startswith("success")
    failure = enhanced.lookup("5" + code[1:])
    assert failure is not None and failure.meaning.lower().rstrip(".") not in said
