"""``mxwizard replay``: a report written by ``check --format json`` against the lab is a session
file; replayed, it prints every line with its note, keeps at least the recorded pace at 1×, and a
missing, garbled or hostile file gets one line and exit 2 (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mxwizard.cli import main
from mxwizard.core.untrusted import visible
from mxwizard.replay.session_files import SessionError, load_session, parse_session, save_session, timeline


def mxwizard(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mxwizard", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The JSON report of a real check against the lab, as a user would save it."""
    done = mxwizard("check", "receive", "healthy.test", "--lab", "--format", "json")
    assert done.returncode == 0, done.stderr
    path = tmp_path_factory.mktemp("replay") / "session.json"
    path.write_text(done.stdout)
    return path


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_every_line_is_replayed_with_its_note(recorded: Path) -> None:
    report = json.loads(recorded.read_text())
    assert report["transcripts"] and report["dns"]
    done = mxwizard("replay", str(recorded), "--speed", "0")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    assert out.startswith("Replay of receive healthy.test: 2 SMTP session(s)")
    position = 0
    for transcript in report["transcripts"]:
        heading = f"SMTP session with {transcript['host']} [{transcript['ip']}]:{transcript['port']}"
        position = out.index(heading, position)
        for line in transcript["lines"]:  # in order, each followed by its note
            position = out.index(line["text"][:20], position)  # rows wrap between words
            if line["note"]:
                assert f"# {line['note'][:40]}" in out[position:position + 400], line
    for lookup in report["dns"]:
        assert f";; {lookup['qname']} {lookup['qtype']} @{lookup['server']}" in out
        for answer in lookup["answers"]:
            assert answer in out
    assert "-> [tls] EHLO" in out  # the encrypted part stays marked


def test_json_replay_is_one_object_per_line(recorded: Path) -> None:
    report = json.loads(recorded.read_text())
    done = mxwizard("replay", str(recorded), "--speed", "0", "--format", "json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["type"] for e in events].count("dns") == len(report["dns"])
    smtp = [e for e in events if e["type"] == "smtp"]
    assert [(e["host"], e["dir"], e["text"]) for e in smtp] == [
        (t["host"], line["dir"], line["text"]) for t in report["transcripts"] for line in t["lines"]]


def test_speed_one_takes_at_least_the_recorded_time(recorded: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(recorded.read_text())
    short = {"kind": "receive", "transcripts": report["transcripts"][:1]}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(short))
    lines = short["transcripts"][0]["lines"]
    recorded_s = (lines[-1]["t_ms"] - lines[0]["t_ms"]) / 1000.0
    assert recorded_s > 0
    started = time.monotonic()
    status, out, err = run_in_process(capsys, "replay", str(path), "--speed", "1")
    elapsed = time.monotonic() - started
    assert status == 0 and err == ""
    assert elapsed >= recorded_s * 0.95, (elapsed, recorded_s)  # a lower bound only
    assert out.count(" ms ") == len(lines)
    # half speed takes at least twice as long as the recording
    started = time.monotonic()
    status, _out, _err = run_in_process(capsys, "replay", str(path), "--speed", "0.5")
    assert status == 0 and time.monotonic() - started >= recorded_s * 2 * 0.95


def test_saved_session_round_trips_and_keeps_the_report_shape(recorded: Path, tmp_path: Path) -> None:
    session = load_session(recorded)
    assert session.kind == "receive" and session.title == "receive healthy.test"
    assert {lookup.qtype for lookup in session.lookups} >= {"MX", "A", "PTR"}
    again = save_session(session, tmp_path / "again.json")
    report = json.loads(again.read_text())
    assert set(report) <= {"schema", "mxwizard", "kind", "target", "verdict", "findings", "transcripts",
                           "dns", "elapsed_ms"}
    original = json.loads(recorded.read_text())
    assert report["transcripts"] == original["transcripts"]
    assert report["dns"] == original["dns"]
    assert report["verdict"] == original["verdict"]
    reloaded = load_session(again)
    assert [len(t.lines) for t in reloaded.transcripts] == [len(t.lines) for t in session.transcripts]
    assert len(timeline(reloaded)) == len(reloaded.lookups) + reloaded.line_count


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("truncated.json", b'{"transcripts": [{"host": "mx", "lines": [', "is not valid JSON (line 1"),
    ("list.json", b"[1, 2, 3]", "must hold one JSON object"),
    ("empty-object.json", b"{}", "neither \"transcripts\" nor \"dns\""),
    ("nothing.json", b'{"transcripts": [], "dns": []}', "holds no SMTP session and no DNS lookup"),
    ("bad-dir.json", b'{"transcripts": [{"lines": [{"t_ms": 1, "dir": "X", "text": ""}]}]}',
     "transcripts[0].lines[0].dir must be one of C, S, info, error"),
    ("nan.json", b'{"transcripts": [{"lines": [{"t_ms": NaN, "dir": "S", "text": ""}]}]}',
     "is not valid JSON"),
    ("huge-time.json", b'{"transcripts": [{"lines": [{"t_ms": 1e300, "dir": "S", "text": ""}]}]}',
     "t_ms must lie between 0 and"),
    ("bool-port.json", b'{"transcripts": [{"port": true, "lines": []}]}', "port must be a port number"),
    ("bad-rcode.json", b'{"dns": [{"qname": "a.test", "qtype": "MX", "rcode": "MAYBE"}]}',
     "dns[0].rcode must be one of"),
    ("bad-record.json",
     b'{"dns": [{"qname": "a.test", "qtype": "MX", "rcode": "NOERROR", "answers": ["\\u001b[2J"]}]}',
     "dns[0].answers[0] is not a DNS record"),
    ("binary.json", b"\xff\xfe\x00garbage\x1b]0;pwned\x07", "is not UTF-8 text"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "session file"),
]


@pytest.mark.parametrize("name, content, reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_exit_2_with_one_line(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = mxwizard("replay", str(path), "--speed", "0")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mxwizard: error: "), done.stderr
    assert reason in lines[0], lines[0]
    assert "\x1b" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, reason", [
    (("replay", "/nonexistent/session.json"), "cannot read /nonexistent/session.json"),
    (("replay", "."), "is a directory"),
    (("replay", "x.json", "--speed", "-1"), "the speed must be between 0"),
    (("replay", "x.json", "--speed", "fast"), "is not a number"),
    (("replay", "x.json", "--speed", "nan"), "the speed must be between 0"),
    (("replay",), "Missing argument"),
])
def test_usage_problems_exit_2_with_one_line(args: tuple[str, ...], reason: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_in_process(capsys, *args)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and reason in err, err


HOSTILE = "[bold]x[/bold] \x1b]0;pwned\x07 \x1b[2J \u202eevil \udcff"


def test_hostile_text_is_printed_escaped(tmp_path: Path) -> None:
    session = {"kind": "receive", "target": {"shown": HOSTILE}, "transcripts": [
        {"host": HOSTILE, "ip": "127.0.0.66", "port": 25, "lines": [
            {"t_ms": 0, "dir": "S", "text": "220 " + HOSTILE, "note": HOSTILE},
            {"t_ms": 1, "dir": "info", "text": HOSTILE, "note": HOSTILE}]}],
        "dns": [{"t_ms": 0, "qname": HOSTILE, "qtype": "TXT", "server": HOSTILE, "rcode": "NOERROR",
                 "answers": [f'evil.test. 300 IN TXT "{HOSTILE}"'], "ms": 1}]}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(session))  # json escapes the lone surrogate as \udcff
    for fmt in ("text", "json"):
        done = subprocess.run([sys.executable, "-m", "mxwizard", "replay", str(path), "--speed", "0",
                               "--format", fmt], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout
        assert "\u202e".encode() not in done.stdout
        if fmt == "text":
            assert visible(HOSTILE).encode() in done.stdout


def test_parse_session_accepts_a_minimal_subset() -> None:
    session = parse_session('{"transcripts": [{"host": "mx.example.org", "ip": "192.0.2.1", '
                            '"lines": [{"t_ms": 0, "dir": "S", "text": "220 ready"}]}]}')
    assert session.line_count == 1 and session.transcripts[0].port == 25
    assert session.transcripts[0].lines[0].note == "greeting: the server is ready"  # annotated anew
    with pytest.raises(SessionError, match="must be text"):
        parse_session('{"transcripts": [{"lines": [{"t_ms": 0, "dir": "S", "text": 220}]}]}')


def test_speed_zero_never_sleeps(recorded: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    slept: list[Any] = []
    monkeypatch.setattr(time, "sleep", lambda seconds: slept.append(seconds))
    status, out, _err = run_in_process(capsys, "replay", str(recorded), "--speed", "0")
    assert status == 0 and "221 2.0.0 Bye" in out and slept == []
