"""The big providers' sender rules in ``check send``: the checklist rows and their findings.

Against the lab (its sending addresses, its receivers, its DKIM key) with real message files:
the lab's own sample messages and messages signed here with the lab's key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim
import pytest

from conftest import run_cli
from mxwizard.diagnosis.rules.checklist import (
    FAIL,
    NOT_CHECKABLE,
    PASS,
    PROVIDERS,
    SenderFacts,
    checklist_rows,
    judge_checklist,
)
from mxwizard.lab.keys import LAB_DKIM_PRIVATE_KEY
from mxwizard.probes.message_headers import read_headers

CheckJson = Callable[[list[str]], tuple[int, Any]]
MESSAGES = Path(__file__).resolve().parent.parent / "src" / "mxwizard" / "lab" / "messages"
SEND = ["check", "send", "--from", "alice@home.test", "--to", "bob@strict.test", "--ip",
        "127.0.1.10", "--helo", "mail.home.test", "--source-ip", "127.0.1.10",
        "--dkim-selector", "mail", "--lab"]


def _rows(report: Any, provider: str) -> dict[str, str]:
    return {row["rule"]: row["status"] for row in report["checklist"] if row["provider"] == provider}


def _ids(report: Any) -> dict[str, str]:
    return {f["id"]: f["status"] for f in report["findings"]}


def _signed(path: Path, headers: list[tuple[str, str]], signed: list[str] | None = None) -> Path:
    """A message with ``headers``, signed with the lab's key for home.test (over ``signed``,
    default every header)."""
    body = b"Hello,\r\nthis is a test.\r\n"
    message = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers) + b"\r\n" + body
    names = [n.lower().encode() for n in (signed or [k for k, _ in headers])]
    signature = dkim.sign(message, b"mail", b"home.test", LAB_DKIM_PRIVATE_KEY.encode(),
                          include_headers=names)
    path.write_bytes(signature + message)
    return path


BASE = [("From", "Alice <alice@home.test>"), ("To", "bob@strict.test"), ("Subject", "news"),
        ("Date", "Thu, 01 Jan 2026 10:00:00 +0000"), ("Message-ID", "<1.news@home.test>")]
ONE_CLICK = [("List-Unsubscribe", "<https://home.test/u?b>"),
             ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]


def test_a_sender_meeting_every_rule(check_json: CheckJson) -> None:
    code, report = check_json([*SEND, "--message", str(MESSAGES / "bulk-ready.eml")])
    assert code == 0
    found = _ids(report)
    for ident in ("checklist.gmail", "checklist.yahoo", "checklist.microsoft",
                  "message.unsubscribe-ok", "message.headers-ok"):
        assert found[ident] == "pass", ident
    assert found["checklist.spam-rate"] == "info"
    rows = report["checklist"]
    assert {tuple(sorted(row)) for row in rows} == {("fix", "provider", "rule", "source", "status")}
    assert {row["provider"] for row in rows} == set(PROVIDERS)
    assert all(row["source"].startswith("https://") for row in rows)
    # everything is met but what no check from outside can see: the complaint rates
    unseen = [row for row in rows if row["status"] != PASS]
    assert len(unseen) == 3 and all(row["status"] == NOT_CHECKABLE for row in unseen)
    assert any("postmaster.google.com" in row["fix"] for row in unseen)
    assert any("snds" in row["fix"] for row in unseen)


def test_a_sender_without_unsubscribe_headers(check_json: CheckJson) -> None:
    code, report = check_json([*SEND, "--message", str(MESSAGES / "bulk-no-unsubscribe.eml")])
    found = _ids(report)
    assert found["message.unsubscribe-missing"] == "warn"
    # a bulk-sender rule: a warning, not a failure (below 5,000 a day it is advice)
    assert found["checklist.gmail"] == "warn" and found["checklist.yahoo"] == "warn"
    assert code == 0
    gmail = _rows(report, "Gmail")
    assert gmail["One-click unsubscribe, RFC 8058, for marketing mail (5,000+ a day)"] == FAIL
    unsubscribe = next(r for r in report["checklist"] if r["status"] == FAIL)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in unsubscribe["fix"]


def test_without_a_message_the_message_rules_are_not_checkable(check_json: CheckJson) -> None:
    _code, report = check_json(SEND)
    gmail = _rows(report, "Gmail")
    assert gmail["Messages follow RFC 5322 (From, Date, Message-ID)"] == NOT_CHECKABLE
    assert gmail["One-click unsubscribe, RFC 8058, for marketing mail (5,000+ a day)"] == NOT_CHECKABLE
    # DKIM passing shows only on a message: SPF alone does not make "SPF and DKIM"
    assert gmail["SPF and DKIM pass (everyone needs one; 5,000+ messages a day need both)"] \
        == NOT_CHECKABLE
    assert gmail["Sending IP has valid forward and reverse DNS (PTR)"] == PASS
    assert gmail["Mail is sent over a TLS connection"] == PASS
    assert any("--message" in r["fix"] for r in report["checklist"] if r["status"] == NOT_CHECKABLE)
    assert not [f for f in report["findings"] if f["id"].startswith("message.")]


def test_unsubscribe_headers_outside_the_signature_are_not_one_click(
        check_json: CheckJson, tmp_path: Path) -> None:
    message = _signed(tmp_path / "m.eml", BASE + ONE_CLICK,
                      signed=["From", "To", "Subject", "Date", "Message-ID"])
    _code, report = check_json([*SEND, "--message", str(message)])
    finding = next(f for f in report["findings"] if f["id"] == "message.unsubscribe-not-one-click")
    assert "no valid DKIM signature covers" in finding["detail"]


def test_broken_headers_fail_the_rules_for_every_sender(check_json: CheckJson, tmp_path: Path) -> None:
    headers = [h for h in BASE if h[0] != "Message-ID"] + [("From", "bob@home.test")] + ONE_CLICK
    code, report = check_json([*SEND, "--message", str(_signed(tmp_path / "m.eml", headers))])
    found = _ids(report)
    assert found["message.headers-invalid"] == "fail"
    invalid = next(f for f in report["findings"] if f["id"] == "message.headers-invalid")
    assert "2 From headers" in invalid["detail"] and "no Message-ID" in invalid["detail"]
    assert found["checklist.gmail"] == "fail" and code == 1


def test_the_checklist_is_in_the_text_and_markdown_reports(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*SEND, "--message", str(MESSAGES / "bulk-no-unsubscribe.eml")]
    _code, text, _err = run_cli(args, capsys)
    assert "Checklist: the big providers' sender rules" in text
    assert "✖ fail          One-click unsubscribe, RFC 8058 (bulk senders)" in text
    _code, markdown, _err = run_cli([*args, "--format", "markdown"], capsys)
    assert "| [Gmail](https://support.google.com/a/answer/81126) |" in markdown


def test_receive_reports_have_no_checklist(check_json: CheckJson) -> None:
    _code, report = check_json(["check", "receive", "healthy.test", "--lab"])
    assert "checklist" not in report


# --- the parts, without a network -----------------------------------------------------------


def test_headers_are_read_strictly() -> None:
    good = read_headers(b"From: A <a@example.org>\r\nDate: Thu, 01 Jan 2026 10:00:00 +0000\r\n"
                        b"Message-ID: <x@y>\r\nList-Unsubscribe: <mailto:u@example.org>,\r\n"
                        b" <https://example.org/u>\r\nList-Unsubscribe-Post: "
                        b"List-Unsubscribe=One-Click\r\n\r\nbody")
    assert good.from_address == "a@example.org" and not good.date_problem and good.message_id_ok
    assert good.unsubscribe_uris == ("mailto:u@example.org", "https://example.org/u")
    assert good.one_click
    assert "no From" in read_headers(b"Subject: x\r\n\r\n").from_problem
    assert "2 addresses" in read_headers(b"From: a@example.org, b@example.org\r\n\r\n").from_problem
    assert "not an RFC 5322 date" in read_headers(b"Date: yesterday\r\n\r\n").date_problem
    assert not read_headers(b"Message-ID: no-brackets@x\r\n\r\n").message_id_ok
    assert not read_headers(b"List-Unsubscribe: <http://x/u>\r\nList-Unsubscribe-Post: "
                            b"List-Unsubscribe=One-Click\r\n\r\n").one_click
    assert read_headers(b"\r\nbody only").problem


def test_nothing_observed_is_never_a_pass() -> None:
    facts = SenderFacts("example.org")
    rows = checklist_rows(facts)
    assert rows and all(row.status == NOT_CHECKABLE for row in rows)
    findings = {f.id: f for f in judge_checklist(facts, rows)}
    assert findings["checklist.gmail"].status.value == "info"
    assert "could not be checked" in findings["checklist.gmail"].title
