"""The event stream of a diagnosis: what the runner tells its consumers as it happens.

The CLI and the TUI are two consumers of the same stream (the CLI collects it into a report, the
TUI updates its screens), so neither re-implements the diagnosis. Order is guaranteed: a step's
``StepStarted`` comes before its lookups, lines and findings, its ``StepFinished`` after them, and
``DiagnosisFinished`` last of all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mxwizard.core.findings import Finding, Status
from mxwizard.core.transcript import Transcript, TranscriptLine
from mxwizard.probes.dns import Lookup

if TYPE_CHECKING:
    from mxwizard.diagnosis.result import Diagnosis


@dataclass(frozen=True)
class StepStarted:
    """A step of the tree began (its dependencies are done)."""

    step: str
    title: str
    why: str
    t_ms: float


@dataclass(frozen=True)
class StepFinished:
    """A step ended: ``status`` is its worst finding, ``skipped`` when it did not apply."""

    step: str
    status: Status | None
    t_ms: float
    skipped: bool = False


@dataclass(frozen=True)
class DnsAnswered:
    """A DNS query came back (or timed out)."""

    step: str
    lookup: Lookup


@dataclass(frozen=True)
class SmtpLine:
    """A line was sent to or received from an SMTP server."""

    step: str
    transcript: Transcript
    line: TranscriptLine


@dataclass(frozen=True)
class FindingMade:
    """A rule judged something."""

    finding: Finding


@dataclass(frozen=True)
class DiagnosisFinished:
    """The whole diagnosis is done; the result is complete."""

    diagnosis: Diagnosis


Event = StepStarted | StepFinished | DnsAnswered | SmtpLine | FindingMade | DiagnosisFinished
