"""A finished diagnosis: its findings, transcripts and lookups, the verdict and the exit status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mxwizard import __version__
from mxwizard.core.exits import EXIT_FAIL, EXIT_INCOMPLETE, EXIT_OK
from mxwizard.core.findings import Finding, Side, Status, grouped
from mxwizard.core.schema import SCHEMA_VERSION
from mxwizard.core.transcript import Transcript
from mxwizard.probes.dns import Lookup

if TYPE_CHECKING:
    from mxwizard.diagnosis.rules.checklist import ChecklistRow


@dataclass(frozen=True)
class Verdict:
    """The one-sentence answer: the worst status, what it is about, and whose side it is on."""

    status: Status
    summary: str
    side: Side

    @property
    def where(self) -> str:
        """Where to look for the fault, as a person reads it ("" when it is nobody's): the
        line under the headline of every report and of the wizard's verdict."""
        return "" if self.side is Side.NONE else self.side.label

    def to_json(self) -> dict[str, str]:
        """As in the JSON report."""
        return {"status": self.status.value, "summary": self.summary, "side": self.side.value}


@dataclass
class Diagnosis:
    """Everything a check found. Findings are kept in tree order, then in the order made."""

    kind: str
    target: Mapping[str, str]
    findings: list[Finding] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    elapsed_ms: float = 0.0
    #: The big providers' sender rules, one row each (send checks; see rules/checklist.py).
    checklist: list[ChecklistRow] = field(default_factory=list)

    def worst(self) -> Finding | None:
        """The finding that matters most: the first of the highest severity, in tree order."""
        if not self.findings:
            return None
        top = max(f.status.rank for f in self.findings)
        return next(f for f in self.findings if f.status.rank == top)

    def count(self, status: Status) -> int:
        """How many findings have ``status``."""
        return sum(1 for f in self.findings if f.status is status)

    @property
    def verdict(self) -> Verdict:
        """The headline: a fault if any was proven, else what could not be tested, else good news."""
        worst = self.worst()
        if worst is None:
            return Verdict(Status.ERROR, "Nothing could be checked.", Side.NONE)
        fails, warns = self.count(Status.FAIL), self.count(Status.WARN)
        if worst.status is Status.FAIL:
            more = f" (and {fails - 1} more problem{'s' if fails > 2 else ''})" if fails > 1 else ""
            return Verdict(Status.FAIL, f"{worst.title}{more}", worst.side)
        if worst.status is Status.ERROR:
            return Verdict(
                Status.ERROR,
                f"The diagnosis could not be completed: {_in_sentence(worst.title)}",
                worst.side,
            )
        if worst.status is Status.WARN:
            plural = "s" if warns > 1 else ""
            return Verdict(
                Status.WARN, f"No fault found, but {warns} warning{plural}: {worst.title}",
                worst.side,
            )
        return Verdict(Status.PASS, "No problems found: every check passed.", Side.NONE)

    @property
    def exit_status(self) -> int:
        """0 nothing failed, 1 a ``fail`` finding, 3 something could not be tested (no fail)."""
        if self.count(Status.FAIL):
            return EXIT_FAIL
        if self.count(Status.ERROR) or not self.findings:
            return EXIT_INCOMPLETE
        return EXIT_OK

    def sections(self) -> list[tuple[str, list[Finding]]]:
        """The findings as a reader meets them, under their headings: problems by whose side
        they are on (worst first), then notes and checks that did not run, then what is
        right. The one grouping that the text, Markdown and the wizard's lists all show."""
        return grouped(self.findings)

    def ids(self) -> list[str]:
        """The finding ids, in report order (handy for tests and scenario checks)."""
        return [f.id for f in self.findings]

    def to_json(self) -> dict[str, object]:
        """The whole diagnosis as the JSON object of DESIGN.md §2."""
        return {
            "schema": SCHEMA_VERSION,
            "mxwizard": __version__,
            "kind": self.kind,
            "target": dict(self.target),
            "verdict": self.verdict.to_json(),
            "findings": [f.to_json() for f in self.findings],
            "transcripts": [t.to_json() for t in self.transcripts],
            "dns": [lookup.to_json() for lookup in self.lookups],
            "elapsed_ms": round(self.elapsed_ms, 1),
            **({"checklist": [row.to_json() for row in self.checklist]}
               if self.checklist or self.kind == "send" else {}),
        }


def _in_sentence(title: str) -> str:
    """A title continued mid-sentence: its first word lowered, unless it is an acronym (DNS, SMTP)."""
    first = title.split(" ", 1)[0]
    return title if first[1:2].isupper() else title[:1].lower() + title[1:]
