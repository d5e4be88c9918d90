"""The transcript annotator and renderer: notes for every line, explanations on demand, safe text.

These tests are pure: transcripts are built by hand (the way a replayed JSON report or a lesson
would hand them over), so each note can be checked against the line it belongs to. The live
probe's notes are covered in test_smtp_probe.py.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from mxwizard.core.transcript import (
    NOTE_LIMIT,
    Annotator,
    Direction,
    Transcript,
    TranscriptLine,
    annotate,
    annotate_session,
    explain_line,
    render_line,
)
from mxwizard.knowledge.smtp_commands import ANOMALIES

C, S, INFO = Direction.CLIENT, Direction.SERVER, Direction.INFO


def session(*lines: tuple[float, Direction, str]) -> Transcript:
    transcript = Transcript("mx.example.org", "127.0.2.1", 2525)
    for t_ms, direction, text in lines:
        transcript.add(TranscriptLine(t_ms, direction, text))
    return transcript


GMAIL_REJECTION = session(
    (0, INFO, "connecting to 127.0.2.1:2525 from 127.0.1.5"),
    (40, S, "220 mx.google.com ESMTP a1-20020a17 - gsmtp"),
    (41, C, "EHLO mail.example.org"),
    (60, S, "250-mx.google.com at your service, [127.0.1.5]"),
    (60, S, "250-SIZE 157286400"),
    (60, S, "250-STARTTLS"),
    (60, S, "250-X-MYVENDOR-TRICK"),
    (60, S, "250-FROBNICATE now"),
    (60, S, "250 SMTPUTF8"),
    (61, C, "MAIL FROM:<alice@example.org> SIZE=1200"),
    (80, S, "250 2.1.0 OK a1-20020a17 - gsmtp"),
    (81, C, "RCPT TO:<bob@gmail.com>"),
    (99, S, "550-5.7.1 [127.0.1.5] The IP you're using to send mail is not authorized to"),
    (99, S, "550-5.7.1 send email directly to our servers. Please use the SMTP relay at your"),
    (99, S, "550 5.7.1 service provider instead. a1-20020a17 - gsmtp"),
    (100, C, "QUIT"),
    (110, S, "221 2.0.0 closing connection a1-20020a17 - gsmtp"),
)


def notes(transcript: Transcript) -> dict[str, str]:
    return {line.text: line.note for line in annotate_session(transcript).lines}


def test_every_line_gets_a_short_note_that_fits_the_line() -> None:
    found = notes(GMAIL_REJECTION)
    assert all(found[text] and len(found[text]) <= 72 for text in found if not text.startswith("connecting"))
    assert found["220 mx.google.com ESMTP a1-20020a17 - gsmtp"] == "greeting: the server is ready"
    assert found["EHLO mail.example.org"] == (
        "we introduce ourselves as mail.example.org, asking for its extensions")
    assert found["250-SIZE 157286400"] == "the largest message it accepts: 157.3 MB"
    assert found["250-STARTTLS"].startswith("offers encryption")
    assert found["250-X-MYVENDOR-TRICK"] == "X-MYVENDOR-TRICK: a vendor's private extension"
    assert found["250-FROBNICATE now"] == "FROBNICATE: an extension this tool does not know"
    assert found["MAIL FROM:<alice@example.org> SIZE=1200"] == (
        "we name the envelope sender: <alice@example.org>")
    assert found["RCPT TO:<bob@gmail.com>"] == "we ask whether the server takes mail for <bob@gmail.com>"
    assert found["221 2.0.0 closing connection a1-20020a17 - gsmtp"].startswith("Gmail: ")


def test_a_big_providers_multi_line_rejection_is_recognised_once() -> None:
    found = notes(GMAIL_REJECTION)
    rejection = [found[line.text] for line in GMAIL_REJECTION.lines if line.text.startswith("550")]
    assert rejection[0].startswith("permanent failure")
    assert any("Gmail" in note for note in rejection)
    assert rejection[-1] == "the reply goes on"  # the provider is named once, not three times


def test_a_slow_greeting_is_noted_as_a_possible_greet_pause() -> None:
    slow = session((0, INFO, "connecting"), (6200, S, "220 mx.example.org ESMTP"))
    assert notes(slow)["220 mx.example.org ESMTP"] == (
        "greeting after 6.2 s: perhaps a deliberate greet pause")
    assert "greet pause" in explain_line(slow, 1)
    # The threshold follows the caller's timeout: with a 2 s budget, 1.5 s is already slow.
    quick = session((0, INFO, "connecting"), (1500, S, "220 mx.example.org ESMTP"))
    assert notes(quick)["220 mx.example.org ESMTP"] == "greeting: the server is ready"
    assert "greet pause" in annotate_session(quick, slow_greeting_ms=1000).lines[1].note
    refused = session((0, INFO, "connecting"), (7000, S, "554 5.7.1 go away"))
    assert notes(refused)["554 5.7.1 go away"].startswith("greeting: permanent failure")


def test_explanations_say_what_is_asked_and_what_the_receiver_checks() -> None:
    lines = GMAIL_REJECTION.lines
    index = {line.text: i for i, line in enumerate(lines)}
    ehlo = explain_line(GMAIL_REJECTION, index["EHLO mail.example.org"])
    assert "extensions" in ehlo and "reverse DNS" in ehlo
    mail = explain_line(GMAIL_REJECTION, index["MAIL FROM:<alice@example.org> SIZE=1200"])
    assert "SPF" in mail
    starttls = explain_line(GMAIL_REJECTION, index["250-STARTTLS"])
    assert "RFC 3207" in starttls
    last_line = "550 5.7.1 service provider instead. a1-20020a17 - gsmtp"
    rejection = explain_line(GMAIL_REJECTION, index[last_line])
    assert rejection.startswith("This answers our RCPT command.")
    assert "permanent" in rejection and "5.7.1" in rejection
    greeting = explain_line(GMAIL_REJECTION, 1)
    assert "greeting" in greeting and "blocklists" in greeting
    assert explain_line(GMAIL_REJECTION, 0)  # even our own remarks get a sentence


def test_anomalous_lines_are_explained_from_their_note() -> None:
    transcript = session((0, S, "220 ok"), (1, C, "MAIL FROM:<a@b.example>"), (2, S, "250 ok"),
                         (2, S, "250 extra"))
    annotate_session(transcript)
    assert transcript.lines[3].note == "a reply nobody asked for: no command was waiting"
    transcript.lines[3].note = ANOMALIES["out-of-step"][0]  # as the live probe marks it
    assert "paired with the wrong command" in explain_line(transcript, 3)


def test_lines_that_are_not_replies_and_redacted_logins() -> None:
    transcript = session((0, S, "hello, I am not SMTP"), (1, C, "AUTH LOGIN <redacted>"),
                         (2, S, "334 VXNlcm5hbWU6"), (3, C, "<redacted>"), (4, S, "235 2.7.0 ok"))
    found = [line.note for line in annotate_session(transcript).lines]
    assert found[0] == ANOMALIES["not-a-reply"][0]
    assert "credentials are never shown" in found[1]
    assert found[3] == "our answer to the login challenge (hidden)"
    assert "Credentials are never recorded" in explain_line(transcript, 3)


def test_the_message_is_summarised_and_data_explained() -> None:
    transcript = session((0, S, "220 ok"), (1, C, "DATA"), (2, S, "354 End data with <CR><LF>.<CR><LF>"),
                         (3, C, "<message: 12 lines, 400 bytes>"), (3, C, "."), (9, S, "250 2.0.0 queued"))
    found = [line.note for line in annotate_session(transcript).lines]
    assert found[1] == "we ask to send the message itself"
    assert found[2].startswith("go ahead")
    assert found[3].startswith("the message itself") and found[4] == "a lone dot ends the message"
    assert "DKIM" in explain_line(transcript, 1)


def test_annotate_keeps_the_probes_own_notes() -> None:
    annotator = Annotator()
    remark = TranscriptLine(0, INFO, "TLSv1.3 established", note="from here on, everything is encrypted")
    assert annotate(remark, annotator).note == "from here on, everything is encrypted"
    banner = annotate(TranscriptLine(5, S, "220 ready"), annotator)
    assert banner.note == "greeting: the server is ready"


def test_render_is_readable_and_safe_to_paste() -> None:
    transcript = session((1000, INFO, "connecting to 127.0.2.1:2525"),
                         (1012, S, "220 evil\x1b]2;pwned\x07 \u202egnp.exe ESMTP"),
                         (1013, C, "EHLO mail.example.org"),
                         (1020, S, "250 " + "x" * 300))
    annotate_session(transcript)
    transcript.lines[1].note += "\x1b[2J"
    transcript.lines[3].encrypted = True
    text = transcript.render(width=80)
    assert all(len(row) <= 80 for row in text.splitlines())
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text.replace("\n", ""))
    assert "\\e]2;pwned\\x07" in text and "\\u202e" in text
    assert "      0 ms ** connecting" in text and "     12 ms <- 220 evil" in text
    assert "     13 ms -> EHLO mail.example.org" in text and "<- [tls] 250 xxx" in text
    assert "# greeting: the server is ready" in text
    assert text.count("x") >= 300  # long lines wrap instead of losing their end


def test_json_shape_is_unchanged() -> None:
    transcript = annotate_session(session((0, S, "220 hi\x1b[0m"), (1, C, "QUIT")))
    transcript.lines[1].encrypted = True
    data = transcript.to_json()
    assert list(data) == ["host", "ip", "port", "lines"]
    lines = data["lines"]
    assert isinstance(lines, list)
    assert list(lines[0]) == ["t_ms", "dir", "text", "note"] and lines[0]["text"] == "220 hi\\e[0m"
    assert lines[1]["encrypted"] is True and lines[1]["dir"] == "C"


_directions = st.sampled_from([C, S, INFO, Direction.ERROR])
_texts = st.one_of(
    st.text(max_size=200),
    st.from_regex(r"[2-5][0-9][0-9][ -][245]\.[0-9]\.[0-9]{1,2} .{0,60}", fullmatch=True),
    st.from_regex(r"(EHLO|MAIL FROM:<.{0,30}>|RCPT TO:<.{0,30}>|STARTTLS|DATA|QUIT|AUTH .{0,20})",
                  fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_directions, _texts), max_size=30))
def test_any_transcript_annotates_and_renders_safely(lines: list[tuple[Direction, str]]) -> None:
    transcript = session(*((float(i), direction, text) for i, (direction, text) in enumerate(lines)))
    annotate_session(transcript)
    assert all(len(line.note) <= NOTE_LIMIT for line in transcript.lines)
    rendered = transcript.render()
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in rendered.replace("\n", ""))
    for index in range(len(transcript.lines)):
        assert explain_line(transcript, index)


def test_rows_wrap_between_words_and_notes_are_whole() -> None:
    """The text report of a real lab session: no note cut off with an ellipsis, and a long
    server line wrapped between its words, never inside a host name."""
    out = subprocess.run([sys.executable, "-m", "mxwizard", "check", "receive", "healthy.test",
                          "--lab"], capture_output=True, text=True, timeout=60).stdout
    notes = [row.split("# ", 1)[1] for row in out.splitlines() if "# " in row]
    assert notes and not any(note.endswith("…") for note in notes)
    words = "250 " + " ".join(f"mx{i}.healthy.test" for i in range(40))
    transcript = session((0.0, Direction.SERVER, words))
    rows = render_line(transcript.lines[0], 0.0, width=60)
    text_rows = [r for r in rows if "# " not in r]
    pieces = " ".join(r[14:] if i else r.split("<- ", 1)[1] for i, r in enumerate(text_rows))
    assert all(token in words.split() for token in pieces.split()), pieces
