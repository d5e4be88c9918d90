"""Batch mode and mail logs: a directory, a Maildir, an mbox and Postfix, Exim and Sendmail logs,
explained end to end through the command, with real files built from the corpus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxwizard.bounces import batch, maillog
from mxwizard.bounces.explain import explain_text
from mxwizard.core.findings import Status

CORPUS = Path(__file__).parent / "bounces"
LOGS = CORPUS / "logs"
ROOT = Path(__file__).parent.parent


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mxwizard", "explain", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def mbox_of(names: list[str]) -> str:
    """An mbox as mail programs write it: a From_ line before each message, From-quoting inside."""
    out = []
    for name in names:
        text = (CORPUS / name).read_text(encoding="utf-8")
        quoted = "".join(">" + line if line.startswith("From ") else line
                         for line in text.splitlines(keepends=True))
        out.append(f"From MAILER-DAEMON Mon Nov 23 10:15:02 2026\n{quoted.rstrip()}\n\n")
    return "".join(out)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Bounces/cur", ".Bounces/new", ".Bounces/tmp"):
        (root / sub).mkdir(parents=True)
    shutil.copy(CORPUS / "01-postfix-user-unknown-them.eml", root / "cur" / "1763892902.M1P1.host:2,S")
    shutil.copy(CORPUS / "23-outlook-blocked-ip-you.eml", root / "new" / "1763892903.M2P2.host")
    shutil.copy(CORPUS / "03-postfix-greylisted-none.eml",
                root / ".Bounces" / "cur" / "1763892904.M3P3.host:2,")
    shutil.copy(CORPUS / "47-qmail-user-unknown-them.txt", root / "tmp" / "1763892905.M4P4.host")
    (root / "dovecot-uidlist").write_text("3 V1763892900 N4\n")
    (root / "new" / "outside").symlink_to("/etc/hostname")
    (root / "cur" / "garbage").write_bytes(bytes(range(256)) * 20)
    return root


def test_a_maildir_gives_a_summary_and_a_line_per_message(maildir: Path) -> None:
    done = run("--file", str(maildir))
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert out.startswith(f"mxwizard explain: 5 messages from {maildir}")
    assert "Messages by class and side:" in out and "Top receiving domains:" in out
    assert "Top remote servers:" in out and "mx.example.net" in out
    for source, result in (("cur/1763892902.M1P1.host:2,S", "bounce.user-unknown"),
                           ("new/1763892903.M2P2.host", "bounce.blocked-ip"),
                           (".Bounces/cur/1763892904.M3P3.host:2,", "bounce.greylisted"),
                           ("cur/garbage", "bounce.unknown")):
        assert any(line.split()[:2] == [source, result] for line in out.splitlines()), (source, out)
    assert "new/outside" in out and "symbolic link pointing out of the directory" in out
    listed = [line.split()[0] for line in out.split("Messages:\n", 1)[1].splitlines()]
    assert not [s for s in listed if s.startswith("tmp/") or "dovecot" in s], "tmp/, bookkeeping skipped"


def test_a_maildir_as_json_lines(maildir: Path) -> None:
    done = run("--file", str(maildir), "--format", "json")
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(objects) == 5
    by_source = {o["source"]: o for o in objects}
    assert by_source["cur/1763892902.M1P1.host:2,S"]["findings"][0]["id"] == "bounce.user-unknown"
    assert by_source["new/1763892903.M2P2.host"]["verdict"]["side"] == "you"
    assert "error" in by_source["new/outside"] and "findings" not in by_source["new/outside"]


def test_an_mbox_by_file_and_by_stdin(tmp_path: Path) -> None:
    names = ["01-postfix-user-unknown-them.eml", "19-gmail-mailbox-full-them.txt",
             "38-exim-host-unknown-them.eml"]
    mbox = tmp_path / "bounces.mbox"
    mbox.write_text(mbox_of(names), encoding="utf-8")
    done = run("--file", str(mbox), "--format", "json")
    assert done.returncode == 1, done.stderr
    got = [(o["source"], o["findings"][0]["id"]) for o in map(json.loads, done.stdout.splitlines())]
    assert got == [("bounces.mbox#1", "bounce.user-unknown"), ("bounces.mbox#2", "bounce.mailbox-full"),
                   ("bounces.mbox#3", "bounce.host-unknown")]
    piped = run(stdin=mbox.read_text())
    assert "<stdin>#2" in piped.stdout and "bounce.mailbox-full" in piped.stdout


def test_an_mbox_with_one_message_is_reported_like_one_message(tmp_path: Path) -> None:
    mbox = tmp_path / "one.mbox"
    mbox.write_text(mbox_of(["01-postfix-user-unknown-them.eml"]), encoding="utf-8")
    done = run("--file", str(mbox), "--format", "json")
    data = json.loads(done.stdout)
    assert data["kind"] == "explain" and data["findings"][0]["id"] == "bounce.user-unknown"


def test_the_whole_corpus_directory(tmp_path: Path) -> None:
    done = run("--file", str(CORPUS), "--format", "json")
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    files = [p for p in CORPUS.rglob("*") if p.is_file()]
    assert len(objects) == len(files)
    assert not [o for o in objects if "error" in o]
    unknown = [o["source"] for o in objects if o["findings"][0]["id"] == "bounce.unknown"]
    assert not unknown


def test_bounds_a_large_file_is_a_line_not_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CORPUS / "01-postfix-user-unknown-them.eml", folder / "a.eml")
    (folder / "big.eml").write_bytes(b"x" * 2048)
    os.mkfifo(folder / "fifo")
    monkeypatch.setattr(batch, "MAX_FILE", 1024)
    items = list(batch.open_source(str(folder)).items)  # type: ignore[union-attr]
    by_name = {name: (text is not None, error) for name, text, error in items}
    assert by_name["a.eml"][0] is False, "the limit applies to every file"
    assert by_name["big.eml"][1] and "not read" in by_name["big.eml"][1]
    assert by_name["fifo"] == (False, "not a regular file: skipped")


def test_the_message_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mbox = tmp_path / "many.mbox"
    mbox.write_text(mbox_of(["01-postfix-user-unknown-them.eml"] * 5), encoding="utf-8")
    monkeypatch.setattr(batch, "MAX_MESSAGES", 3)
    items = list(batch.open_source(str(mbox)).items)  # type: ignore[union-attr]
    assert len(items) == 4 and items[-1][2] == "stopped after 3 messages (the limit of one run)"


def test_bad_paths_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = run("--file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    unreadable = tmp_path / "secret.eml"
    unreadable.write_text("x")
    unreadable.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        done = run("--file", str(unreadable))
        assert done.returncode == 2 and "Traceback" not in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run("--file", str(empty))
    assert nothing.returncode == 3 and "no messages found" in nothing.stdout


# --- mail logs --------------------------------------------------------------------------------


def deliveries(name: str) -> dict[str, tuple[str, str]]:
    """recipient -> (finding id, status) for every failed, deferred or refused delivery."""
    diagnosis, _ = explain_text((LOGS / name).read_text())
    out = {}
    for finding in diagnosis.findings:
        if finding.id.startswith("bounce."):
            recipient = finding.title.split(" - ")[0].rsplit("(", 1)[-1].rstrip(")")
            if "refused mail from" in finding.title:
                recipient = finding.title.split(" to ", 1)[1].split(":", 1)[0]
            out[recipient] = (finding.id, finding.status.value)
    return out


def test_a_postfix_log_is_explained_per_delivery() -> None:
    assert maillog.looks_like_log((LOGS / "postfix-mail.log").read_text())
    assert deliveries("postfix-mail.log") == {
        "bob@example.net": ("bounce.user-unknown", "fail"),
        "carol@gmail.com": ("bounce.mailbox-full", "warn"),
        "erin@down.example": ("bounce.network-error", "warn"),
        "frank@outlook.com": ("bounce.blocked-ip", "fail"),
        "ivan@slow.example": ("bounce.expired", "fail"),
        "alice@example.org": ("bounce.blocked-ip", "info"),
        "nobody@example.org": ("bounce.user-unknown", "info"),
    }


def test_a_postfix_log_groups_by_queue_id_and_recipient() -> None:
    log = maillog.read_log((LOGS / "postfix-mail.log").read_text())
    gina = log.deliveries[("7B8C9D0E1F", "gina@strict.example")]
    assert (gina.status, gina.attempts, gina.sender) == ("sent", 2, "alice@example.org")
    erin = log.deliveries[("4F1A2B3C4D", "erin@down.example")]
    assert any("connect to mx.down.example" in line for line in erin.lines)
    assert log.deliveries[("8C9D0E1F2A", "ivan@slow.example")].status == "expired"


def test_a_postfix_log_summary_and_the_refused_side() -> None:
    diagnosis, status = explain_text((LOGS / "postfix-mail.log").read_text())
    assert status == 1
    summary = next(f for f in diagnosis.findings if f.id == "maillog.summary")
    assert summary.title == "Mail log: 9 deliveries (2 bounced, 2 deferred, 2 sent, 2 rejected, 1 expired)"
    assert "Top failing domains: example.net (1)" in summary.detail
    assert "Top reasons: " in summary.detail and "Connection failures: mx.down.example" in summary.detail
    refused = next(f for f in diagnosis.findings if "198.51.100.77" in f.title)
    assert refused.side.value == "them", "your server refusing a listed IP: the sender's fault"
    bob = next(f for f in diagnosis.findings if "bob@example.net" in f.title)
    assert "mxwizard check receive example.net --mailbox bob@example.net" in bob.fix


def test_an_exim_mainlog_is_explained_per_delivery() -> None:
    assert deliveries("exim-mainlog") == {
        "bob@example.net": ("bounce.user-unknown", "fail"),
        "erin@typo.example": ("bounce.host-unknown", "fail"),
        "frank@down.example": ("bounce.network-error", "warn"),
        "gina@gone.example": ("bounce.network-error", "fail"),
        "hank@yahoo.com": ("bounce.auth-failed", "fail"),
        "ivan@slow.example": ("bounce.expired", "fail"),
        "alice@example.org": ("bounce.blocked-ip", "info"),
    }
    log = maillog.read_log((LOGS / "exim-mainlog").read_text())
    carol = log.deliveries[("1vMx2c-0004Qd-9K", "carol@strict.example")]
    assert (carol.status, carol.attempts) == ("sent", 2), "greylisted, then delivered"


def test_a_sendmail_log_is_explained_per_delivery() -> None:
    assert deliveries("sendmail-maillog") == {
        "bob@example.net": ("bounce.user-unknown", "fail"),
        "carol@down.example": ("bounce.network-error", "warn"),
    }


def test_a_log_by_file_and_by_stdin_through_the_command() -> None:
    done = run("--file", str(LOGS / "postfix-mail.log"), "--format", "json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["target"]["shown"] == "Postfix mail log (21 lines)"
    assert {"bounce.user-unknown", "maillog.summary"} <= {f["id"] for f in data["findings"]}
    piped = run(stdin=(LOGS / "exim-mainlog").read_text())
    assert piped.returncode == 1 and "all hosts for 'gone.example'" in piped.stdout


def test_a_log_with_only_successes_passes() -> None:
    lines = (LOGS / "postfix-mail.log").read_text().splitlines()
    text = "\n".join(line for line in lines if "status=sent" in line)
    diagnosis, status = explain_text(text)
    assert status == 0 and diagnosis.verdict.status in (Status.PASS, Status.INFO)


def test_a_big_log_is_read_from_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (LOGS / "postfix-mail.log").read_text().splitlines(keepends=True)
    big = tmp_path / "mail.log"
    big.write_text("".join(lines[:4] * 200 + lines), encoding="utf-8")
    monkeypatch.setattr(batch, "MAX_FILE", 8192)
    import io

    note = io.StringIO()
    text = batch.read_one(str(big), note)
    assert len(text.encode()) <= 8192 and text.endswith(lines[-1])
    assert "its last lines were read" in note.getvalue()
    other = tmp_path / "big.eml"
    other.write_text("Subject: x\n\n" + "y" * 9000)
    with pytest.raises(batch.SourceError):
        batch.read_one(str(other))


_LOG_PIECES = st.sampled_from([
    "Nov 23 10:14:59 mail postfix/smtp[2110]: ", "4F1A2B3C4D: ", "to=<bob@example.net>, ",
    "relay=mx[1.2.3.4]:25, delay=1, dsn=5.1.1, status=bounced (", ")", "said: 550 5.1.1 x",
    "2026-11-23 10:14:59 1vMx2c-0004Qd-9K ** ", "== ", "=> ", "<= ",
    "H=(x) [1.2.3.4] F=<a@b.c> rejected RCPT <d@e.f>: ", "sendmail[1]: 5ANAEwJ1003101: ", "stat=Deferred: ",
    "NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 no; from=<a@b.c> ",
    "From MAILER-DAEMON Mon Nov 23\n", "\n", "\x1b[2J", "\udcff", ":", "<", ">",
])
_LOGGY = st.lists(st.one_of(_LOG_PIECES, st.text(max_size=30)), max_size=40).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LOGGY)
def test_logs_and_mboxes_never_raise(text: str) -> None:
    diagnosis = maillog.explain_log(text)
    assert diagnosis.findings and all("\x1b" not in f.title for f in diagnosis.findings)
    for name, body, error in batch.split_mbox(text, "x"):
        assert name.startswith("x#") and (body is None) != (error is None)
    outcome = batch.explain_item(("x", text, None))
    assert outcome.result.startswith(("bounce.", "reply.", "maillog.", "error"))
