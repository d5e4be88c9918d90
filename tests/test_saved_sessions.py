"""The saved sessions a folder offers to the replay dialog: files mxwizard wrote, newest first,
and nothing that is not a plain file is ever opened (a pipe would keep the wizard waiting)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mxwizard.replay.saved_sessions import saved_sessions, written_by_mxwizard
from mxwizard.replay.session_files import Session, save_session


def _aged(path: Path, seconds_ago: float) -> Path:
    now = time.time()
    os.utime(path, (now - seconds_ago, now - seconds_ago))
    return path


def test_sessions_and_reports_newest_first_and_nothing_else(tmp_path: Path) -> None:
    session = Session("receive", {"domain": "example.test"})
    _aged(save_session(session, tmp_path / "older.json"), 60)
    newest = save_session(session, tmp_path / "newest.json")
    report = tmp_path / "report.JSON"  # a `check --format json` report, compact, any case
    report.write_text('{"schema": 1, "mxwizard": "1.0", "kind": "receive", "dns": []}')
    _aged(report, 120)
    (tmp_path / "package.json").write_text('{"name": "not a session"}')
    (tmp_path / "notes.md").write_text('{"mxwizard": "but not JSON by name"}')
    (tmp_path / "link.json").symlink_to(newest)
    os.mkfifo(tmp_path / "pipe.json")  # opening it for reading would wait for a writer
    (tmp_path / "folder.json").mkdir()

    found = saved_sessions(tmp_path)
    assert [s.name for s in found] == ["newest.json", "older.json", "report.JSON"]
    assert found[0].path == newest and found[0].modified > found[1].modified
    assert [s.name for s in saved_sessions(tmp_path, limit=1)] == ["newest.json"]
    assert not written_by_mxwizard(tmp_path / "pipe.json")
    assert not written_by_mxwizard(tmp_path / "link.json")


def test_a_missing_or_unreadable_folder_holds_none(tmp_path: Path) -> None:
    assert saved_sessions(tmp_path / "missing") == []
    (tmp_path / "file").write_text("x")
    assert saved_sessions(tmp_path / "file") == []


def test_a_name_that_would_be_shown_escaped_is_not_offered(tmp_path: Path) -> None:
    """A file name with a terminal escape or bytes that are no text (an unpacked archive can
    hold one) would reach the dialog's file field as it is: it is not offered at all."""
    session = Session("receive", {"domain": "example.test"})
    plain = save_session(session, tmp_path / "plain.json")
    for hostile in (b"\x1b]2;PWNED\x07evil.json", b"bad\xff.json", "rtl\u202egnp.json".encode()):
        with open(os.fsencode(tmp_path) + b"/" + hostile, "wb") as copy:
            copy.write(plain.read_bytes())
    assert [s.name for s in saved_sessions(tmp_path)] == ["plain.json"]


def test_a_time_no_calendar_holds_is_shown_as_unknown(tmp_path: Path) -> None:
    """tar keeps whatever time an archive says, and tmpfs stores it; time.localtime cannot
    convert some of them (this disk may round the time, so the row is made with it directly)."""
    from mxwizard.replay.saved_sessions import SavedSession
    from mxwizard.ui.screens.lesson_files import saved_prompt

    far = SavedSession("far.json", tmp_path / "far.json", 1e17, 100)
    assert "????-??-??" in saved_prompt(far).plain and "far.json" in saved_prompt(far).plain


def test_past_its_deadline_the_scan_returns_what_it_has(tmp_path: Path) -> None:
    session = Session("receive", {"domain": "example.test"})
    for n in range(5):
        save_session(session, tmp_path / f"s{n}.json")
    assert saved_sessions(tmp_path, deadline=time.monotonic() - 1) == []
    assert len(saved_sessions(tmp_path, deadline=time.monotonic() + 60)) == 5


def test_a_hostile_folder_is_read_within_its_limits(tmp_path: Path) -> None:
    """A folder stuffed with .json files: at most MAX_PEEKS of them are opened (the newest), each
    only for HEAD_BYTES, and a marker beyond those bytes does not count."""
    from mxwizard.replay import saved_sessions as listing

    session = save_session(Session("receive", {"domain": "example.test"}), tmp_path / "real.json")
    _aged(session, 3600)  # older than every decoy: beyond the files whose start is read
    for n in range(listing.MAX_PEEKS):
        (tmp_path / f"decoy{n}.json").write_text('{"name": "not a session"}')
    late = tmp_path / "late.json"  # the key, but only after the bytes that are read
    late.write_text("{" + " " * listing.HEAD_BYTES + '"mxwizard": "1"}')
    assert saved_sessions(tmp_path) == []
    (tmp_path / "decoy0.json").unlink()
    (tmp_path / "decoy1.json").unlink()  # now the real one is among the newest MAX_PEEKS
    assert [s.name for s in saved_sessions(tmp_path)] == ["real.json"]

