"""Findings: the unit of judgement. Every rule answers with findings, every screen shows them.

A finding says what was checked (``id`` from the catalog in DESIGN.md §4), how it went
(``status``), whose side a fault is on (``side``), why it matters in plain words (``detail``),
what to do (``fix``, with the exact record or setting where one exists), and what it rests on
(``evidence``: raw records or transcript lines, so a sceptical admin can check the judgement).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    """How a check went, from best to worst for sorting; ``error`` means it could not be tested."""

    PASS = "pass"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def glyph(self) -> str:
        """A symbol that carries the status without colour (NO_COLOR, 16-colour terminals)."""
        return _GLYPHS[self]

    @property
    def rank(self) -> int:
        """Severity for sorting: a fail outranks an error (a proven fault beats an unknown)."""
        return _RANKS[self]


_GLYPHS = {
    Status.PASS: "✔",
    Status.INFO: "ℹ",
    Status.WARN: "⚠",
    Status.FAIL: "✖",
    Status.ERROR: "?",
}
_RANKS = {Status.PASS: 0, Status.INFO: 1, Status.WARN: 2, Status.ERROR: 3, Status.FAIL: 4}


class Side(str, Enum):
    """Whose side a fault is on: the user's, the other party's, the network's, or nobody's."""

    YOU = "you"
    THEM = "them"
    NETWORK = "network"
    NONE = "none"

    @property
    def label(self) -> str:
        """How the side is named to a person."""
        return _SIDE_LABELS[self]


_SIDE_LABELS = {
    Side.YOU: "Your side (your server or your DNS)",
    Side.THEM: "Their side (the other party)",
    Side.NETWORK: "The network (your ISP, a firewall, port blocking)",
    Side.NONE: "Nobody's fault",
}


@dataclass(frozen=True)
class Finding:
    """One judgement about one aspect of mail delivery."""

    id: str
    status: Status
    title: str
    detail: str = ""
    fix: str = ""
    side: Side = Side.NONE
    evidence: tuple[str, ...] = field(default=())
    #: The tree step that made it; the runner fills it in when a rule leaves it empty.
    step: str = ""

    def to_json(self) -> dict[str, object]:
        """The finding as the JSON object of DESIGN.md §2."""
        return {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "side": self.side.value,
            "evidence": list(self.evidence),
            "step": self.step,
        }


def worst_status(findings: Iterable[Finding]) -> Status | None:
    """The most severe status among ``findings`` (None for none): what a step's row shows."""
    return max((f.status for f in findings), key=lambda s: s.rank, default=None)


def could_not_test(step: str, title: str, reason: str, side: Side = Side.NONE) -> Finding:
    """The ``error`` finding for a step that did not get an answer: what and why, never a crash."""
    return Finding(
        id=f"{step}.untested",
        status=Status.ERROR,
        title=f"Could not test: {title}",
        detail=f"This check could not be completed, because {reason}.",
        fix="Run the check again; if it keeps failing, the reason above says where to look.",
        side=side,
        step=step,
    )


def not_checked(step: str, title: str, reason: str) -> Finding:
    """The ``info`` finding for a step that did not run: a skipped check is said, with why."""
    return Finding(
        id=f"{step}.not-checked",
        status=Status.INFO,
        title=f"Not checked: {title}",
        detail=f"This check did not run, because {reason}.",
        side=Side.NONE,
        step=step,
    )


#: The headings below the problems (those are headed by their side's label).
NOTES_HEADING = "Notes, and checks that did not run"
RIGHT_HEADING = "What is right"


def grouped(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """See :meth:`Diagnosis.sections` (also used for lists that are not a whole diagnosis)."""
    problems = sorted((f for f in findings if f.status.rank >= Status.WARN.rank),
                      key=lambda f: -f.status.rank)
    out = [(side.label, [f for f in problems if f.side is side])
           for side in (Side.YOU, Side.THEM, Side.NETWORK, Side.NONE)]
    out.append((NOTES_HEADING, [f for f in findings if f.status is Status.INFO]))
    out.append((RIGHT_HEADING, [f for f in findings if f.status is Status.PASS]))
    return [(heading, group) for heading, group in out if group]


#: The statuses of a row of the sender checklist (diagnosis/rules/checklist.py).
ROW_PASS, ROW_FAIL, ROW_NOT_CHECKABLE = "pass", "fail", "not-checkable"
#: How a row's status reads beside the findings, in the report and the wizard alike: the finding
#: status whose glyph and colour it borrows ("not checkable" reads like a check that could not be
#: made: the rule cannot be seen from outside, or not without ``--message``), and its word.
ROW_STATUS: dict[str, tuple[Status, str]] = {
    ROW_PASS: (Status.PASS, "pass"),
    ROW_FAIL: (Status.FAIL, "FAIL"),
    ROW_NOT_CHECKABLE: (Status.ERROR, "not checkable"),
}
#: The width of the longest row status, so the rules line up.
ROW_STATUS_WIDTH = 13
