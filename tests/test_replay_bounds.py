"""``mxwizard replay`` within bounds: the work grows with the file, not with its square (one reply
of 100,000 lines replays in seconds: it used to take minutes for 2,000), the speed stays in a
sane range with one line and exit 2 outside it, no wait is longer than a few seconds, a file over
the limit is refused before it is read, and files are opened and written without following links
or overwriting anything unasked."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mxwizard.core.transcript import Direction, Transcript, TranscriptLine, annotate_session
from mxwizard.replay.session_files import (
    MAX_FILE_BYTES,
    MAX_REAL_PAUSE_S,
    REPLY_GOES_ON,
    NotReplaceable,
    SessionError,
    annotate_recorded,
    load_session,
    parse_session,
    play,
    real_pause,
    write_new_file,
)


def long_reply_session(lines: int, code: str = "550", enhanced: str = "5.7.1 ") -> dict[str, object]:
    """A session whose RCPT is answered by one reply of ``lines`` lines."""
    reply = [{"t_ms": 3, "dir": "S",
              "text": f"{code}{'-' if i < lines - 1 else ' '}{enhanced}line {i} of a long refusal"}
             for i in range(lines)]
    return {"kind": "receive", "transcripts": [{"host": "mx.test", "ip": "127.0.0.1", "port": 25, "lines": [
        {"t_ms": 0, "dir": "info", "text": "connecting to 127.0.0.1 port 25"},
        {"t_ms": 1, "dir": "S", "text": "220 mx.test ESMTP"},
        {"t_ms": 2, "dir": "C", "text": "RCPT TO:<postmaster@mx.test>"},
        *reply,
        {"t_ms": 4, "dir": "C", "text": "QUIT"},
        {"t_ms": 5, "dir": "S", "text": "221 bye"},
    ]}]}


def timed_replay(path: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "mxwizard", "replay", str(path), "--speed", "0",
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    return time.monotonic() - started, done


def test_a_reply_of_100k_lines_replays_in_linear_time(tmp_path: Path) -> None:
    seconds: dict[int, float] = {}
    for lines in (50_000, 100_000):
        path = tmp_path / f"long-{lines}.json"
        path.write_text(json.dumps(long_reply_session(lines)))
        seconds[lines], done = timed_replay(path)
        assert done.returncode == 0, done.stderr[-500:]
        events = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(events) == lines + 5
        reply = events[3:3 + lines]
        assert reply[0]["note"].startswith("permanent failure")
        assert {event["note"] for event in reply[1:]} <= {REPLY_GOES_ON}
    assert seconds[100_000] < 20, seconds  # it was endless (2,000 lines took over a minute)
    assert seconds[100_000] / seconds[50_000] < 3, seconds  # linear, not quadratic


def test_replay_notes_match_the_live_annotator_for_ordinary_replies() -> None:
    """Reading each reply once changes no note a real session gets, EHLO lists included."""
    transcript = Transcript("mx.example.org", "127.0.2.1", 25)
    for t_ms, direction, text in [
        (0, Direction.INFO, "connecting to 127.0.2.1:25"),
        (40, Direction.SERVER, "220-mx.example.org ESMTP"), (40, Direction.SERVER, "220-welcome"),
        (40, Direction.SERVER, "220 no UCE"),
        (41, Direction.CLIENT, "EHLO mail.example.org"),
        (60, Direction.SERVER, "250-mx.example.org at your service"),
        (60, Direction.SERVER, "250-SIZE 157286400"),
        (60, Direction.SERVER, "250-STARTTLS"), (60, Direction.SERVER, "250-X-VENDOR-TRICK"),
        (60, Direction.SERVER, "250-8BITMIME"), (60, Direction.SERVER, "250 SMTPUTF8"),
        (61, Direction.CLIENT, "MAIL FROM:<alice@example.org>"), (80, Direction.SERVER, "250 2.1.0 OK"),
        (81, Direction.CLIENT, "RCPT TO:<bob@example.net>"),
        (99, Direction.SERVER, "450-4.7.1 greylisted,"), (99, Direction.SERVER, "450 4.7.1 try later"),
        (99, Direction.SERVER, "250 extra, unasked"), (99, Direction.SERVER, "not a reply at all"),
        (99, Direction.CLIENT, "RCPT TO:<bob@gmail.com>"),
        (99, Direction.SERVER, "550-5.7.1 [127.0.1.5] The IP you're using to send mail is not authorized to"),
        (99, Direction.SERVER, "550-5.7.1 send email directly to our servers. Please use the SMTP relay at"),
        (99, Direction.SERVER, "550-5.7.1 your service provider instead. Learn more at"),
        (99, Direction.SERVER, "550 5.7.1 https://support.google.com/mail/?p=NotAuthorizedError a1 - gsmtp"),
        (100, Direction.CLIENT, "QUIT"), (110, Direction.SERVER, "221 2.0.0 bye"),
    ]:
        transcript.add(TranscriptLine(t_ms, direction, text))
    live = annotate_session(copy.deepcopy(transcript))
    replayed = annotate_recorded(transcript)
    for index, (mine, theirs) in enumerate(zip(replayed.lines, live.lines, strict=True)):
        assert mine.note == theirs.note, (index, mine.text, mine.note, theirs.note)
    assert replayed.lines[2].note == REPLY_GOES_ON  # inside the greeting
    assert replayed.lines[7].note.startswith("offers encryption")  # inside the EHLO list
    assert any("Gmail" in line.note for line in replayed.lines[-6:])  # named once, as live


@pytest.mark.parametrize("speed", ["1e-300", "0.000001", "0.05", "101", "1000", "1e309", "inf",
                                   "-0.5", "nan"])
def test_speeds_outside_the_sane_range_exit_2_with_one_line(speed: str, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(long_reply_session(3)))
    done = subprocess.run([sys.executable, "-m", "mxwizard", "replay", str(path), "--speed", speed],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "the speed must be between 0.1 and 100 (or 0 for no pauses)" in lines[0]
    assert "Traceback" not in done.stderr


def test_no_wait_is_longer_than_the_cap_at_any_speed() -> None:
    session = parse_session(json.dumps({"transcripts": [{"lines": [
        {"t_ms": 0, "dir": "S", "text": "220 slow"},
        {"t_ms": 3_600_000, "dir": "C", "text": "QUIT"},  # an hour later: cut to a minute recorded
        {"t_ms": 3_600_010, "dir": "S", "text": "221 bye"}]}]}))
    waits: list[float] = []
    with open(os.devnull, "w") as nowhere:
        for speed in (0.1, 1.0, 100.0):
            play(session, speed, "json", nowhere, sleep=waits.append)
    assert waits and max(waits) == MAX_REAL_PAUSE_S
    assert real_pause(60_000, 0.1) == MAX_REAL_PAUSE_S and real_pause(10, 0.1) == pytest.approx(0.1)
    assert real_pause(60_000, 0) == 0.0 and real_pause(60_000, 1e-300) == MAX_REAL_PAUSE_S


def test_the_help_says_the_range_and_the_cap() -> None:
    done = subprocess.run([sys.executable, "-m", "mxwizard", "replay", "--help"], capture_output=True,
                          text=True, timeout=60)
    shown = " ".join(done.stdout.split())  # click wraps the help
    assert "0.1 to 100" in shown and f"more than {MAX_REAL_PAUSE_S:g} seconds" in shown
    assert f"over {MAX_FILE_BYTES // (1024 * 1024)} MB" in shown


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as stream:  # sparse: nothing is written, nothing would be read
        stream.truncate(MAX_FILE_BYTES + 1)
    done = subprocess.run([sys.executable, "-m", "mxwizard", "replay", str(path), "--speed", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "is larger than 32 MB" in done.stderr


def test_a_confined_open_takes_names_only_and_never_follows_links(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "ok.json").write_text(json.dumps(long_reply_session(2)))
    (tmp_path / "secret.json").write_text(json.dumps(long_reply_session(2)))
    (files / "link.json").symlink_to(tmp_path / "secret.json")
    os.mkfifo(files / "pipe.json")
    assert load_session("ok.json", directory=files).line_count == 7
    for name, reason in [("../secret.json", "is not a file name"), (str(tmp_path / "secret.json"),
                         "is not a file name"), ("link.json", "is a symbolic link"),
                         ("pipe.json", "is not a plain file"), ("missing.json", "cannot read")]:
        with pytest.raises(SessionError, match=reason):
            load_session(name, directory=files)


def test_files_are_written_new_and_replaced_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    write_new_file(target, "first\n")
    with pytest.raises(FileExistsError):
        write_new_file(target, "second\n")
    assert target.read_text() == "first\n"
    write_new_file(target, "second\n", replace=True)
    assert target.read_text() == "second\n"
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep\n")
    (tmp_path / "planted.md").symlink_to(elsewhere)
    for replace in (False, True):
        with pytest.raises(NotReplaceable):
            write_new_file(tmp_path / "planted.md", "evil\n", replace=replace)
    assert elsewhere.read_text() == "keep\n" and (tmp_path / "planted.md").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.txt", "planted.md", "report.md"]
