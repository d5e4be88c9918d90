"""The session files a folder holds, newest first: what the wizard's replay dialog offers.

A file counts when it is a plain ``.json`` file whose first bytes show that mxwizard wrote it: a
session saved with ``s``, a JSON export and the output of ``mxwizard check ... --format json`` all
begin with the ``"schema"`` and ``"mxwizard"`` keys, and all three replay. Other JSON files in the
folder (a ``package.json``, someone's notes) are left out. Only the start of a file is read here;
the full check is made when the file is opened (:func:`~mxwizard.replay.session_files.load_session`).

The folder may be a home directory with thousands of entries, so the work is bounded: at most
:data:`MAX_ENTRIES` names are looked at, at most :data:`MAX_PEEKS` files are read (the newest,
:data:`HEAD_BYTES` each), and at most ``limit`` are returned. Links, pipes and devices are skipped
without being opened (a pipe named ``x.json`` would keep a reader waiting). Headless: no Textual.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from mxwizard.core.untrusted import unsafe_character
from mxwizard.replay.session_files import MAX_FILE_BYTES

#: The most names of one folder looked at (a folder with more lists what the first ones hold).
MAX_ENTRIES = 10_000
#: The most ``.json`` files whose start is read, newest first.
MAX_PEEKS = 200
#: How much of a file's start is read: the report's first keys come well within it.
HEAD_BYTES = 512
#: How many saved sessions are offered at most.
SHOWN = 20


@dataclass(frozen=True)
class SavedSession:
    """A session file in the folder: its bare name, where it is, when it was written and its size."""

    name: str
    path: Path
    #: When it was last written, in seconds since the epoch.
    modified: float
    size: int


def saved_sessions(directory: str | os.PathLike[str], limit: int = SHOWN,
                   deadline: float | None = None) -> list[SavedSession]:
    """The session files in ``directory``, newest first (the last one saved comes first); an
    unreadable folder holds none. Past ``deadline`` (a :func:`time.monotonic` time: a slow
    network mount) the files found so far are returned.

    A name that :func:`~mxwizard.core.untrusted.visible` would have to escape (control
    characters, bidi overrides, bytes that are no text) is not offered: it would be shown one
    way and mean another. Such a file can still be opened by typing its name."""
    folder = Path(os.path.expanduser(os.fspath(directory)))
    candidates: list[tuple[int, str, int]] = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_ENTRIES or (deadline is not None and time.monotonic() > deadline):
                    break
                if not entry.name.lower().endswith(".json") or unsafe_character(entry.name):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if info.st_size <= MAX_FILE_BYTES:
                    candidates.append((info.st_mtime_ns, entry.name, info.st_size))
    except OSError:
        return []
    candidates.sort(reverse=True)
    found: list[SavedSession] = []
    for modified_ns, name, size in candidates[:MAX_PEEKS]:
        if len(found) >= limit or (deadline is not None and time.monotonic() > deadline):
            break
        if written_by_mxwizard(folder / name):
            found.append(SavedSession(name, folder / name, modified_ns / 1e9, size))
    return found


def written_by_mxwizard(path: str | os.PathLike[str]) -> bool:
    """True if the file starts the way mxwizard's JSON reports and session files start (a JSON
    object with the ``"mxwizard"`` key among its first keys); never follows a link or waits on a
    pipe."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, HEAD_BYTES)
    except OSError:
        return False
    finally:
        os.close(fd)
    return head.lstrip().startswith(b"{") and b'"mxwizard"' in head
