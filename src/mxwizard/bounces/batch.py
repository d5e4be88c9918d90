"""Batch mode: every bounce in a directory, a Maildir or an mbox, explained and summed up.

``mxwizard explain --file PATH`` takes a directory (every regular file, recursively; a Maildir's
``cur/`` and ``new/``, never its ``tmp/``), an mbox file (recognised by its ``From `` lines) or one
message. Each message is explained on its own; a message that cannot be read becomes a line with
its error and the run goes on. The output is JSON Lines (one object per message, with a
``source`` naming the file or ``file#N`` for the Nth message of an mbox) or a summary table
(messages per class and side, top receiving domains and remote servers) followed by one line
per message.

Every input is bounded: a file larger than :data:`MAX_FILE` is refused, only regular files are
read, a symbolic link is followed only when it stays inside the tree, and the run stops after
:data:`MAX_MESSAGES` messages (saying so). The work is spread over the machine's cores when
there are many messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from mxwizard.core.schema import SCHEMA_VERSION
from mxwizard.core.untrusted import visible

#: The largest file read (a bounce with its original attached rarely passes a few megabytes).
MAX_FILE = 25 * 1024 * 1024
#: The most messages explained in one run.
MAX_MESSAGES = 100_000
#: The largest mbox read (it is read as a stream, message by message).
MAX_MBOX = 4 * 1024 * 1024 * 1024
#: Files in a Maildir that are its own bookkeeping, not messages.
_MAILDIR_FILES = ("dovecot", "courierimap", "maildirfolder", "maildirsize", "subscriptions", ".DS_Store")
#: From this many messages on, the work is shared between processes.
PARALLEL_FROM = 200


class SourceError(Exception):
    """A path that cannot be read at all (missing, unreadable, not a file or directory)."""


#: One message to explain: (its name, its text or None, why it could not be read or None).
Item = tuple[str, "str | None", "str | None"]


@dataclass
class Source:
    """Where the messages come from, and the messages, read lazily."""

    name: str
    items: Iterator[Item]
    #: A single message in it is reported like any one message (an mbox with one message).
    single_ok: bool = False


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def is_mbox(text: str) -> bool:
    """Whether ``text`` starts like an mbox file: a ``From `` separator line, then headers."""
    if not text.startswith("From "):
        return False
    second = text.split("\n", 2)[1:2]
    return bool(second) and ":" in second[0][:80]


def split_mbox(text: str, name: str) -> list[Item]:
    """The messages of an mbox held in memory (stdin), named ``name#1``, ``name#2``..."""
    return list(_mbox_messages(iter(text.splitlines(keepends=True)), name))


def _mbox_messages(lines: Iterable[str], name: str) -> Iterator[Item]:
    current: list[str] = []
    size = 0
    number = 0
    previous_blank = True
    too_big = False
    for line in lines:
        if line.startswith("From ") and previous_blank:
            if number:
                yield _mbox_item(name, number, current, too_big)
            number += 1
            current, size, too_big = [], 0, False
            previous_blank = False
            continue
        previous_blank = not line.strip()
        if number == 0:
            continue
        if size <= MAX_FILE:
            current.append(line[1:] if line.startswith(">From ") else line)
            size += len(line)
        else:
            too_big = True
    if number:
        yield _mbox_item(name, number, current, too_big)


def _mbox_item(name: str, number: int, lines: list[str], too_big: bool) -> Item:
    source = f"{name}#{number}"
    if too_big:
        return source, None, f"message larger than {MAX_FILE // (1024 * 1024)} MB: not read"
    return source, "".join(lines), None


def _read_file(path: str, limit: int = MAX_FILE) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(limit + 1)


def read_one(path: str, note: TextIO | None = None) -> str:
    """The text of one file, bounded; raises SourceError with a one-line reason.

    A mail log larger than :data:`MAX_FILE` is read from its end (the most recent lines), and
    ``note`` is told so; any other file that large is refused."""
    try:
        data = _read_file(path)
        if len(data) > MAX_FILE:
            from mxwizard.bounces.maillog import looks_like_log

            if not looks_like_log(_decode(data[:20_000])):
                raise SourceError(f"{path!r} is larger than {MAX_FILE // (1024 * 1024)} MB")
            with open(path, "rb") as handle:
                handle.seek(-MAX_FILE, os.SEEK_END)
                data = handle.read(MAX_FILE)
            data = data[data.find(b"\n") + 1:]
            if note is not None:
                note.write(f"mxwizard: note: {visible(path, 200)} is larger than "
                           f"{MAX_FILE // (1024 * 1024)} MB: its last lines were read\n")
    except OSError as exc:
        raise SourceError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    return _decode(data)


def _mbox_file(path: str, name: str) -> Iterator[Item]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            yield from _mbox_messages(handle, name)
    except OSError as exc:
        yield name, None, f"cannot read: {exc.strerror or exc}"


def _starts_as_mbox(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return False
    return is_mbox(_decode(head))


def _inside(root: str, path: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:
        return False


def _tree(root: str) -> Iterator[Item]:
    """Every message under ``root``: regular files, Maildir cur/ and new/, mbox files split."""
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        if {"cur", "new"} <= set(dirnames):
            dirnames[:] = [d for d in dirnames if d != "tmp"]
        for filename in sorted(filenames):
            if filename.startswith(_MAILDIR_FILES):
                continue
            full = os.path.join(dirpath, filename)
            name = os.path.relpath(full, root)
            try:
                info = os.lstat(full)
                if stat.S_ISLNK(info.st_mode):
                    if not _inside(real_root, os.path.realpath(full)):
                        yield name, None, "symbolic link pointing out of the directory: not followed"
                        continue
                    info = os.stat(full)
            except OSError as exc:
                yield name, None, f"cannot read: {exc.strerror or exc}"
                continue
            if not stat.S_ISREG(info.st_mode):
                yield name, None, "not a regular file: skipped"
                continue
            if info.st_size > MAX_FILE:
                if _starts_as_mbox(full) and info.st_size <= MAX_MBOX:
                    yield from _mbox_file(full, name)
                else:
                    yield name, None, f"larger than {MAX_FILE // (1024 * 1024)} MB: not read"
                continue
            try:
                text = _decode(_read_file(full))
            except OSError as exc:
                yield name, None, f"cannot read: {exc.strerror or exc}"
                continue
            if is_mbox(text):
                yield from _mbox_messages(iter(text.splitlines(keepends=True)), name)
            else:
                yield name, text, None


def _capped(items: Iterator[Item]) -> Iterator[Item]:
    for count, item in enumerate(items):
        if count >= MAX_MESSAGES:
            yield "…", None, f"stopped after {MAX_MESSAGES} messages (the limit of one run)"
            return
        yield item


def open_source(path: str) -> Source | None:
    """The messages at ``path`` when it holds (or may hold) more than one: a directory or an mbox.

    None for a single ordinary file (read it with :func:`read_one`); SourceError when the path
    cannot be read at all."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SourceError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        return Source(path, _capped(_tree(path)))
    if not stat.S_ISREG(info.st_mode):
        raise SourceError(f"{path!r} is not a regular file or a directory")
    if _starts_as_mbox(path):
        if info.st_size > MAX_MBOX:
            raise SourceError(f"{path!r} is larger than {MAX_MBOX // 1024 ** 3} GB")
        return Source(path, _capped(_mbox_file(path, os.path.basename(path))), single_ok=True)
    return None


# --- explaining many ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one message came to: enough for its line, its JSON object and the summary."""

    source: str
    #: The main finding's id ("bounce.user-unknown"), or "error".
    result: str
    side: str
    status: str
    title: str
    domains: tuple[str, ...] = ()
    remote_mtas: tuple[str, ...] = ()
    recipient: str = ""
    #: The whole report as JSON (None for a message that could not be read).
    report: dict[str, object] | None = None
    error: str = ""
    exit_status: int = 0


def explain_item(item: Item) -> Outcome:
    """Explain one message (pure apart from the text it is given); never raises."""
    from mxwizard.bounces import maillog
    from mxwizard.bounces.explain import exit_status, explain_bounce
    from mxwizard.knowledge.bounce_parser import parse_bounce

    name, text, error = item
    if text is None:
        return Outcome(name, "error", "none", "error", error or "could not be read", error=error or "",
                       exit_status=3)
    try:
        domains: tuple[str, ...] = ()
        mtas: tuple[str, ...] = ()
        if maillog.looks_like_log(text):
            diagnosis = maillog.explain_log(text)
        else:
            bounce = parse_bounce(text)
            diagnosis = explain_bounce(bounce, text)
            domains = tuple(r.recipient.rsplit("@", 1)[1].lower() for r in bounce.recipients
                            if r.recipient and "@" in r.recipient
                            and r.action not in ("delivered", "relayed"))
            mtas = tuple(r.remote_mta.split()[0].lower().rstrip(".") for r in bounce.recipients
                         if r.remote_mta and r.remote_mta.split())
    except Exception as exc:  # one message must never end the run
        reason = f"could not be explained: {type(exc).__name__}"
        return Outcome(name, "error", "none", "error", reason, error=reason, exit_status=3)
    main = next((f for f in diagnosis.findings if f.status.value not in ("pass", "info")),
                diagnosis.findings[0])
    first = next((r for r in (diagnosis.target.get("to"),) if r), "")
    report = diagnosis.to_json()
    return Outcome(name, main.id, main.side.value, main.status.value, main.title, domains, mtas,
                   str(first), report, exit_status=exit_status(diagnosis))


def _explain_all(items: Iterator[Item], workers: int) -> Iterator[Outcome]:
    """Outcomes in the order of the items; with ``workers`` > 1 once there are enough of them."""
    head: list[Item] = []
    for item in items:
        head.append(item)
        if len(head) >= PARALLEL_FROM:
            break
    if len(head) < PARALLEL_FROM or workers < 2:
        yield from map(explain_item, head)
        yield from map(explain_item, items)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(explain_item, _chain(head, items), chunksize=32)


def _chain(head: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from head
    yield from rest


def _json_line(outcome: Outcome) -> str:
    if outcome.report is None:
        data: dict[str, object] = {"schema": SCHEMA_VERSION, "source": outcome.source,
                                   "error": outcome.error}
    else:
        data = {"source": outcome.source, **outcome.report}
    return json.dumps(data, ensure_ascii=True) + "\n"


def _cell(text: str, width: int) -> str:
    shown = visible(text, width)
    return shown.ljust(width)


def summary(outcomes: list[Outcome], name: str) -> list[str]:
    """The summary table: messages per class and side, top domains and remote servers."""
    errors = sum(1 for o in outcomes if o.result == "error")
    out = [f"mxwizard explain: {len(outcomes)} message{'s' if len(outcomes) != 1 else ''} from "
           f"{visible(name, 200)}" + (f" ({errors} could not be read or explained)" if errors else ""), ""]
    by_class = Counter((o.result, o.side) for o in outcomes)
    out.append("Messages by class and side:")
    out += [f"  {_cell(result, 32)} {_cell(side, 8)} {count:6d}"
            for (result, side), count in sorted(by_class.items(), key=lambda kv: (-kv[1], kv[0]))]
    for title, counter in (("Top receiving domains:", Counter(d for o in outcomes for d in set(o.domains))),
                           ("Top remote servers:", Counter(m for o in outcomes for m in set(o.remote_mtas)))):
        if counter:
            out += ["", title]
            out += [f"  {_cell(key, 40)} {count:6d}" for key, count in counter.most_common(10)]
    return out


def run(source: Source, fmt: str, out: TextIO) -> int:
    """Explain every message of ``source`` and write the results; returns the exit status
    (1 when any message failed, 3 when none failed but some could not be read or recognised)."""
    from mxwizard.bounces.explain import explain_text
    from mxwizard.render.report import render

    items = iter(source.items)
    first = next(items, None)
    if first is None:
        out.write(f"mxwizard explain: no messages found in {visible(source.name, 200)}\n")
        return 3
    second = next(items, None)
    if second is None and source.single_ok and first[1] is not None:
        diagnosis, status = explain_text(first[1])
        out.write(render(diagnosis, fmt))
        return status
    rest = _chain([first] + ([second] if second else []), items)
    workers = min(2, os.cpu_count() or 1)
    outcomes: list[Outcome] = []
    for outcome in _explain_all(rest, workers):
        if fmt == "json":
            out.write(_json_line(outcome))
        outcomes.append(Outcome(outcome.source, outcome.result, outcome.side, outcome.status,
                                outcome.title, outcome.domains, outcome.remote_mtas, outcome.recipient,
                                None, outcome.error, outcome.exit_status))
    if fmt != "json":
        lines = summary(outcomes, source.name)
        lines += ["", "Messages:"]
        width = min(48, max(len(o.source) for o in outcomes))
        for o in outcomes:
            lines.append(f"  {_cell(o.source, width)} {_cell(o.result, 28)} {_cell(o.side, 7)} "
                         f"{visible(o.error or o.title, 160)}")
        text = "\n".join(lines) + "\n"
        if fmt == "markdown":
            text = "```\n" + text + "```\n"
        out.write(text)
    with contextlib.suppress(OSError, ValueError):
        out.flush()
    if any(o.exit_status == 1 for o in outcomes):
        return 1
    return 3 if any(o.exit_status == 3 for o in outcomes) else 0

