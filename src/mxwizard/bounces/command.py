"""``mxwizard explain``: read what the user gives (arguments, a file, a directory, stdin), explain
it, and print the report. The only part of the explainer that reads input; the explaining itself
is pure (:mod:`mxwizard.bounces.explain`), and batches of messages go to
:mod:`mxwizard.bounces.batch`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from mxwizard.bounces import batch
from mxwizard.bounces.explain import explain_text
from mxwizard.core.exits import EXIT_USAGE
from mxwizard.core.untrusted import visible
from mxwizard.knowledge.bounce_parser import MAX_INPUT
from mxwizard.render.report import render


class _BadInput(Exception):
    """Input that cannot be explained at all (nothing given, unreadable file)."""


def _read_stdin(path: str | None) -> str:
    stdin = sys.stdin
    if stdin is None or (path is None and stdin.isatty()):
        raise _BadInput("nothing to explain: usage: mxwizard explain 'REPLY LINE' | --file BOUNCE.eml"
                        " | --file DIR | < BOUNCE.eml")
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        return bytes(buffer.read(MAX_INPUT * 2)).decode("utf-8", "surrogateescape")
    return str(stdin.read(MAX_INPUT * 2))


def explain_command(text: Sequence[str], path: str | None, fmt: str) -> int:
    """``mxwizard explain``: read the input, explain it, print the report; returns the exit status.

    One message gives one report; a directory, a Maildir, an mbox with several messages (or a
    mail log) gives a summary and one result per message (JSON Lines with ``--format json``)."""
    started = time.perf_counter()
    try:
        if text and path:
            raise _BadInput("give the text either as arguments or with --file, not both")
        if text:
            raw = " ".join(text)
        elif path is not None and path != "-":
            try:
                source = batch.open_source(path)
            except batch.SourceError as exc:
                raise _BadInput(str(exc)) from None
            if source is not None:
                return batch.run(source, fmt, sys.stdout)
            raw = batch.read_one(path, sys.stderr)
        else:
            raw = _read_stdin(path)
            if batch.is_mbox(raw):
                messages = batch.split_mbox(raw, "<stdin>")
                if len(messages) > 1:
                    return batch.run(batch.Source("<stdin>", iter(messages)), fmt, sys.stdout)
        if not raw.strip():
            raise _BadInput("nothing to explain: the input is empty")
    except _BadInput as exc:
        sys.stderr.write(f"mxwizard: error: {visible(str(exc), 300)}\n")
        return EXIT_USAGE
    except batch.SourceError as exc:
        sys.stderr.write(f"mxwizard: error: {visible(str(exc), 300)}\n")
        return EXIT_USAGE
    diagnosis, status = explain_text(raw)
    diagnosis.elapsed_ms = (time.perf_counter() - started) * 1000
    sys.stdout.write(render(diagnosis, fmt))
    return status
