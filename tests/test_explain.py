"""The bounce explainer: the labelled corpus in tests/bounces/, the parser, the command end to end,
and properties that hold for any input (no exception, only the documented outcomes)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxwizard.bounces.explain import (
    Bounce,
    classify,
    explain_text,
    find_reply,
    parse_bounce,
)
from mxwizard.core.findings import Status
from mxwizard.knowledge.bounces import BOUNCE_CLASSES
from mxwizard.knowledge.replies import ReplyMeaning, meaning, parse_reply
from mxwizard.render.report import to_markdown, to_text

CORPUS = Path(__file__).parent / "bounces"
ROOT = Path(__file__).parent.parent
_NAME = re.compile(r"^(\d{2,3})-([a-z0-9]+)-(.+)-(you|them|network|none)\.(eml|txt)$")
#: Corpus files that are delays or deferrals, not final failures (status warn, not fail).
TEMPORARY = {
    "03-postfix-greylisted-none.eml", "08-postfix-network-error-network.eml",
    "12-postfix-tls-required-you.txt", "17-gmail-rate-limited-you.eml", "25-outlook-rate-limited-you.txt",
    "32-yahoo-rate-limited-you.txt", "36-yahoo-blocked-ip-you.txt", "52-postfix-greylisted-none.txt",
    "55-postfix-rate-limited-you.txt", "57-exim-greylisted-none.txt",
    "100-gmail-mailbox-full-them.eml", "155-french-blocked-ip-you.eml", "167-postfix-rdns-or-helo-you.eml",
    "182-gmail-rate-limited-you.eml", "183-gmail-rate-limited-them.eml", "184-yahoo-rate-limited-you.eml",
    "185-outlook-rate-limited-you.eml", "186-postfix-rate-limited-you.eml", "189-exim-greylisted-none.eml",
    "190-sendmail-greylisted-none.eml", "191-postfix-greylisted-none.eml",
    "202-postfix-network-error-network.eml", "204-exim-network-error-network.eml",
    "205-sendmail-network-error-network.eml", "208-exchange-network-error-network.eml",
    "214-postfix-tls-required-you.eml", "240-postfix-receiver-error-them.eml",
    "245-exim-receiver-error-them.eml",
}
#: The mail systems the corpus must cover (the name's second part).
SYSTEMS = {"postfix", "exim", "sendmail", "qmail", "courier", "exchange", "office365", "outlook", "gmail",
           "yahoo", "aol", "icloud", "zoho", "domino", "groupwise", "imail", "mailenable", "mdaemon",
           "kerio", "zimbra", "amazonses", "sendgrid", "mailgun", "mimecast", "barracuda", "proofpoint",
           "trendmicro", "rfc3464", "japanese", "french", "german", "spanish"}


def corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if _NAME.match(p.name))


def label(path: Path) -> tuple[str, str, str]:
    """(mta, class, side) from a file name ``NN-mta-class-side.ext``."""
    match = _NAME.match(path.name)
    assert match is not None, path.name
    return match[2], match[3], match[4]


def main_finding(text: str) -> tuple[str, str, str, int]:
    diagnosis, status = explain_text(text)
    main = next(f for f in diagnosis.findings if f.status is not Status.PASS)
    return main.id, main.side.value, main.status.value, status


def test_the_corpus_is_big_and_varied_enough() -> None:
    files = corpus()
    assert len(files) >= 250
    assert len([p for p in CORPUS.iterdir() if p.is_file()]) == len(files), "every file is labelled"
    mtas = {label(p)[0] for p in files}
    assert mtas >= SYSTEMS, SYSTEMS - mtas
    assert all(label(p)[1] in BOUNCE_CLASSES for p in files)
    assert set(BOUNCE_CLASSES) <= {label(p)[1] for p in files}, "every class has an example"
    multipart = [p for p in files if "multipart/report" in p.read_text()]
    assert len(multipart) >= 10 and len(files) - len(multipart) >= 10
    text = {p.name: p.read_text() for p in files}
    assert any("550-5.7.25" in t and "gmail" in n for n, t in text.items())
    assert any("S3150" in t for t in text.values())
    assert any("spamhaus" in t.lower() and "blocked-ip" in n for n, t in text.items())
    assert any("greylist" in t.lower() for t in text.values())
    assert any("User unknown" in t for t in text.values())


def test_every_corpus_bounce_is_classified_correctly() -> None:
    wrong = []
    files = corpus()
    for path in files:
        _, klass, side = label(path)
        found, got_side, status, exit_status = main_finding(path.read_text(encoding="utf-8"))
        expected_status = "warn" if path.name in TEMPORARY else "fail"
        expected = (f"bounce.{klass}", side, expected_status, 0 if path.name in TEMPORARY else 1)
        if (found, got_side, status, exit_status) != expected:
            wrong.append(f"{path.name}: got {found} {got_side} {status} exit {exit_status}")
    accuracy = 100 * (len(files) - len(wrong)) / len(files)
    print(f"bounce corpus: {len(files) - len(wrong)}/{len(files)} classified correctly ({accuracy:.1f}%)")
    assert not wrong, "\n".join(wrong)


def test_dsn_facts_are_extracted() -> None:
    bounce = parse_bounce((CORPUS / "01-postfix-user-unknown-them.eml").read_text())
    assert (bounce.kind, bounce.format, bounce.reporting_mta, bounce.sender) == \
        ("dsn", "Postfix", "mail.example.org", "alice@example.org")
    (report,) = bounce.recipients
    assert (report.recipient, report.action, report.status, report.code, report.enhanced) == \
        ("bob@example.net", "failed", "5.1.1", 550, "5.1.1")
    assert report.remote_mta == "mx.example.net"
    assert report.diagnostic == ("550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown "
                                 "in virtual mailbox table")
    assert "Lunch on Friday" not in bounce.body, "the returned message is not evidence"


def test_free_text_facts_are_extracted() -> None:
    bounce = parse_bounce((CORPUS / "05-postfix-rdns-or-helo-you.txt").read_text())
    (report,) = bounce.recipients
    assert (bounce.kind, report.recipient, report.code, report.enhanced, report.command) == \
        ("text", "bob@example.net", 550, "5.7.25", "RCPT TO")
    assert report.remote_mta == "mx.example.net [203.0.113.25]"
    # A Gmail multi-line reply folded by Postfix reads as one sentence.
    gmail = parse_bounce((CORPUS / "14-gmail-rdns-or-helo-you.eml").read_text()).recipients[0]
    assert gmail.diagnostic is not None and "550-5.7.25" not in gmail.diagnostic[4:]
    assert "does not have a PTR record setup" in gmail.diagnostic
    qmail = parse_bounce((CORPUS / "47-qmail-user-unknown-them.txt").read_text()).recipients[0]
    assert (qmail.recipient, qmail.enhanced) == ("yara@example.org", "5.1.1")


def test_a_dsn_without_diagnostic_borrows_the_human_text() -> None:
    bounce = parse_bounce((CORPUS / "38-exim-host-unknown-them.eml").read_text())
    assert bounce.recipients[0].diagnostic == "Unrouteable address"


def test_find_reply_in_assorted_contexts() -> None:
    assert find_reply("host x[192.0.2.1] said: 550 5.1.1 no (in reply to RCPT TO command)") == \
        ("550 5.1.1 no", "RCPT TO")
    assert find_reply("Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; gone'") == \
        ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; gone", None)
    assert find_reply("<h #5.0.0 smtp;550 5.7.54 SMTP; Unable to relay>") == \
        ("550 5.7.54 SMTP; Unable to relay", None)
    assert find_reply("Arrived 2026-11-23 10:15, size 550 bytes") is None


def test_expired_keeps_the_last_error() -> None:
    report = parse_bounce((CORPUS / "39-exim-expired-network.txt").read_text()).recipients[0]
    verdict = classify(report)
    assert (verdict.bounce_class, verdict.underlying, verdict.permanent) == ("expired", "network-error", True)


def test_the_finding_carries_facts_fix_and_next_command() -> None:
    diagnosis, status = explain_text((CORPUS / "23-outlook-blocked-ip-you.eml").read_text())
    (finding,) = diagnosis.findings
    assert status == 1 and finding.id == "bounce.blocked-ip" and finding.status is Status.FAIL
    assert "S3150" in finding.detail and "Wording recognised: Outlook" in finding.detail
    assert "mxwizard check send --from alice@example.org --to grace@outlook.com" in finding.fix
    assert any(line.startswith("Diagnostic-Code:") for line in finding.evidence)
    assert diagnosis.kind == "explain"
    assert diagnosis.target["shown"] == "Postfix bounce for grace@outlook.com"
    assert (diagnosis.target["from"], diagnosis.target["to"]) == ("alice@example.org", "grace@outlook.com")


def test_a_success_reply_is_explained_not_classified() -> None:
    diagnosis, status = explain_text("250 2.0.0 Ok: queued as 4F1A2B3C4D")
    assert status == 0 and diagnosis.ids() == ["reply.success"]
    diagnosis, status = explain_text("354 End data with <CR><LF>.<CR><LF>")
    assert status == 0 and diagnosis.ids() == ["reply.intermediate"]


def test_unknown_text_is_an_unknown_finding_with_advice() -> None:
    diagnosis, status = explain_text("550 5.0.0 computer says no")
    assert status == 3 and diagnosis.ids() == ["bounce.unknown"]
    assert "mxwizard check send" in diagnosis.findings[0].fix
    diagnosis, status = explain_text("the weather is nice today")
    assert status == 3 and diagnosis.ids() == ["bounce.unknown"]


def test_hostile_bounce_text_is_shown_escaped() -> None:
    hostile = "550 5.1.1 <\x1b]2;owned\x07bob@example.net> \u202eUser unknown \x1b[2J"
    diagnosis, status = explain_text(hostile)
    assert status == 1
    for rendered in (to_text(diagnosis), to_markdown(diagnosis)):
        assert "\x1b" not in rendered and "\x07" not in rendered and "\u202e" not in rendered
    assert all("\x1b" not in f.detail and "\x1b" not in f.title for f in diagnosis.findings)


# --- the command, end to end ------------------------------------------------------------------


def run(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.decode("utf-8", "replace") if isinstance(stdin, bytes) else stdin
    return subprocess.run([sys.executable, "-m", "mxwizard", "explain", *args], input=data,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_cli_reply_line_as_json() -> None:
    done = run("550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown", "--format", "json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "explain" and data["verdict"]["side"] == "them"
    assert [f["id"] for f in data["findings"]] == ["bounce.user-unknown"]
    assert "mxwizard check receive example.net --mailbox bob@example.net" in data["findings"][0]["fix"]


def test_cli_unquoted_words_are_joined() -> None:
    done = run("421", "4.7.0", "[TSS04]", "Messages", "deferred", "--format", "json")
    assert done.returncode == 0, done.stderr
    finding = json.loads(done.stdout)["findings"][0]
    assert (finding["id"], finding["status"]) == ("bounce.rate-limited", "warn")


def test_cli_file_and_stdin() -> None:
    path = CORPUS / "14-gmail-rdns-or-helo-you.eml"
    by_file = run("--file", str(path), "--format", "json")
    assert by_file.returncode == 1, by_file.stderr
    assert json.loads(by_file.stdout)["findings"][0]["id"] == "bounce.rdns-or-helo"
    by_dash = run("--file", "-", "--format", "markdown", stdin=path.read_text())
    assert by_dash.returncode == 1 and "`bounce.rdns-or-helo`" in by_dash.stdout
    piped = run(stdin=(CORPUS / "47-qmail-user-unknown-them.txt").read_text())
    assert piped.returncode == 1 and "[bounce.user-unknown]" in piped.stdout
    delayed = run("--file", str(CORPUS / "03-postfix-greylisted-none.eml"))
    assert delayed.returncode == 0, "a delay is not a failure"


def test_cli_bad_input() -> None:
    empty = run(stdin="  \n\n")
    assert empty.returncode == 2 and empty.stderr.startswith("mxwizard: error: nothing to explain")
    both = run("550 x", "--file", str(CORPUS / "01-postfix-user-unknown-them.eml"))
    assert both.returncode == 2 and "Traceback" not in both.stderr
    missing = run("--file", "/nonexistent/bounce.eml")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    unknown = run("no idea what this is")
    assert unknown.returncode == 3 and "[bounce.unknown]" in unknown.stdout


def test_cli_binary_garbage_is_text_too(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 40 + b"\xff\xfe\x1b]0;x\x07")
    done = run("--file", str(garbage))
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    as_json = run("--file", str(garbage), "--format", "json")
    assert as_json.returncode == 3 and json.loads(as_json.stdout)["findings"][0]["id"] == "bounce.unknown"


def test_cli_huge_hostile_input_does_not_hang(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    huge.write_text("Final-Recipient: rfc822; a@example.net\n" * 60_000 + "<" * 500_000 + " 550" * 200_000)
    done = subprocess.run([sys.executable, "-m", "mxwizard", "explain", "--file", str(huge), "--format",
                           "json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode in (0, 1, 3) and "Traceback" not in done.stderr
    assert len(json.loads(done.stdout)["findings"]) <= 101


def test_cli_on_a_terminal_with_nothing_given_prints_usage() -> None:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "mxwizard", "explain"], stdin=terminal,
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "usage: mxwizard explain" in done.stderr


# --- properties -------------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "550", "550-5.7.1 ", "421 4.7.0 ", "5.1.1", "(#5.1.1)", "<bob@example.net>:", "  bob@example.net\n",
    "Final-Recipient: rfc822; x@example.net\n", "Action: failed\n", "Status: 4.4.1\n",
    "Diagnostic-Code: smtp; 550 5.1.1 gone\n", "Content-Type: multipart/report; boundary=b\n",
    "--b\n", "Content-Type: message/delivery-status\n", "From: a@b.c\nTo: d@e.f\n", "\n", "said: ",
    "Greylisted", "spamhaus", "Remote Server returned '", "#550 4.4.7 QUEUE.Expired ##",
    "This is the mail system at host x.\n", "--- Below this line is a copy of the message.\n",
    "\x00", "\x1b[2J", "\udcff", "\u202e", ">", "'", "(in reply to RCPT TO command)",
])
_BOUNCE_LIKE = st.lists(st.one_of(_PIECES, st.text(max_size=40)), max_size=30).map("".join)
_ANY_TEXT = st.one_of(st.text(max_size=2000), _BOUNCE_LIKE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_parse_reply_and_meaning_never_raise(text: str) -> None:
    parsed = parse_reply(text)
    assert parsed is None or (200 <= parsed[0] <= 599 and isinstance(parsed[2], str))
    if parsed is not None:
        found = meaning(parsed[0], text[4:])
        assert isinstance(found, ReplyMeaning) and found.klass in (
            "success", "intermediate", "temporary", "permanent")
        assert found.bounce_class is None or found.bounce_class in BOUNCE_CLASSES
    assert isinstance(meaning(len(text) * 7, text), ReplyMeaning)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_the_bounce_parser_and_explainer_never_raise(text: str) -> None:
    assert isinstance(parse_bounce(text), Bounce)
    diagnosis, status = explain_text(text)
    assert status in (0, 1, 3) and diagnosis.findings
    assert status == diagnosis.exit_status
    main = next((f for f in diagnosis.findings if f.status is not Status.PASS), diagnosis.findings[0])
    assert (status == 1) == any(f.status is Status.FAIL for f in diagnosis.findings)
    assert main.id.split(".", 1)[1] in {*BOUNCE_CLASSES, "unknown", "delivered", "success", "intermediate"}
    assert "\x1b" not in to_text(diagnosis)


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_every_corpus_file_renders_in_every_format(path: Path) -> None:
    diagnosis, _ = explain_text(path.read_text())
    for rendered in (to_text(diagnosis), to_markdown(diagnosis)):
        assert "What does this bounce mean?" in rendered
    assert json.loads(json.dumps(diagnosis.to_json()))["kind"] == "explain"
