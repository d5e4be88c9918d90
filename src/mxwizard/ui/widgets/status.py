"""Status shown as a glyph and a word as well as a colour, so it reads without colour too.

NO_COLOR, 16-colour terminals over SSH and colour-blind readers all get the same information:
the colour (a theme variable, never a fixed colour) only repeats what the glyph and word say.
"""

from __future__ import annotations

from textual.content import Content

from mxwizard.core.findings import ROW_STATUS, ROW_STATUS_WIDTH, Status

#: Glyph, word and theme colour of each finding status.
_STATUS_STYLE: dict[Status, tuple[str, str]] = {
    Status.PASS: ("pass", "$text-success"),
    Status.INFO: ("info", "$text-primary"),
    Status.WARN: ("warn", "$text-warning"),
    Status.FAIL: ("FAIL", "bold $text-error"),
    Status.ERROR: ("untested", "$text-warning"),
}

#: States of a step that are not a finding status.
WAITING = "waiting"
RUNNING = "running"
SKIPPED = "skipped"
STOPPED = "stopped"

_STATE_STYLE: dict[str, tuple[str, str, str]] = {
    WAITING: ("·", "waiting", "$text-muted"),
    RUNNING: ("…", "running", "bold $text-accent"),
    SKIPPED: ("-", "skipped", "$text-muted"),
    STOPPED: ("■", "stopped", "$text-muted"),
}

#: The width of the longest status word, so columns line up.
WORD_WIDTH = 8


def status_badge(status: Status) -> Content:
    """``✔ pass``, ``✖ FAIL`` ... padded to a fixed width, in the status's colour."""
    word, style = _STATUS_STYLE[status]
    return Content.assemble((f"{status.glyph} {word:<{WORD_WIDTH}}", style))


def state_badge(state: str) -> Content:
    """The badge of a step that has no result: waiting, running, skipped or stopped."""
    glyph, word, style = _STATE_STYLE[state]
    return Content.assemble((f"{glyph} {word:<{WORD_WIDTH}}", style))


def status_word(status: Status) -> str:
    """The word alone (for plain-text places such as notifications)."""
    return _STATUS_STYLE[status][0]


def checklist_badge(status: str) -> Content:
    """``✔ pass``, ``✖ FAIL``, ``? not checkable``: a checklist row's status, padded, coloured
    as the finding status it corresponds to (an unknown word is shown as it is, muted)."""
    known = ROW_STATUS.get(status)
    if known is None:
        word = status[:ROW_STATUS_WIDTH]
        return Content.assemble((f"? {word:<{ROW_STATUS_WIDTH}}", "$text-muted"))
    finding_status, word = known
    return Content.assemble((f"{finding_status.glyph} {word:<{ROW_STATUS_WIDTH}}",
                             _STATUS_STYLE[finding_status][1]))
