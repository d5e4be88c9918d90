"""The decision tree as data: steps, what each depends on, when it applies, how long it may take.

A :class:`Step` pairs an observation (an async call into the probes) with a judgement (a pure
function from what was observed to findings). Keeping the two apart is what lets the rules be
tested without a network and lets the runner run every observation whose inputs are ready at the
same time. A :class:`Plan` is the tree for one kind of check (receive, send, relay).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from mxwizard.core.findings import Finding
from mxwizard.core.settings import Settings

T = TypeVar("T")


class Facts(Mapping[str, Any]):
    """What the steps observed so far, by step id, plus the settings (read-only for the rules)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._by_step: dict[str, Any] = {}

    def __getitem__(self, step: str) -> Any:
        return self._by_step[step]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_step)

    def __len__(self) -> int:
        return len(self._by_step)

    def record(self, step: str, observed: Any) -> None:
        """Store a step's observation (only the runner calls this)."""
        self._by_step[step] = observed


@dataclass(frozen=True)
class Step(Generic[T]):
    """One question of the postmaster's decision tree."""

    #: Short id, also the prefix of the step's ``untested`` finding (``mx``, ``smtp``, ``spf``...).
    id: str
    #: What the step checks, as a heading ("MX records").
    title: str
    #: Why this matters, in plain words for someone who has never run a mail server.
    why: str
    #: The probe call: gathers facts from the network. Gets the runner's context.
    observe: Callable[[Any], Awaitable[T]]
    #: The rules: turn the facts into findings. Pure; sees earlier steps' facts too.
    judge: Callable[[Facts, T], list[Finding]]
    #: Steps whose facts this one needs; it starts when they have finished.
    after: tuple[str, ...] = ()
    #: Why the step does not apply, given earlier facts ("" when it does): e.g. no SMTP test
    #: for a null MX. The reason becomes the step's ``not-checked`` finding, so a check that
    #: cannot run is never silent. Steps after a skipped one see its facts missing.
    skip: Callable[[Facts], str] | None = None
    #: The step's time limit in units of ``Settings.timeout``: a little more than the number of
    #: network waits it makes one after another, so a probe's own timeout fires first and
    #: becomes a precise finding; the step limit is the backstop that guarantees no hang.
    budget: float = 1.0


@dataclass(frozen=True)
class Plan:
    """The tree for one kind of check, with the target it is about."""

    kind: str
    #: The inputs, for the report header and JSON ``target`` (both forms of IDNA names).
    target: Mapping[str, str]
    steps: tuple[Step[Any], ...] = field(default=())
    #: The reconciliation pass: after every step, findings are checked against what the
    #: servers were seen to do, and those that contradict it are rewritten (pure).
    reconcile: Callable[[Facts, list[Finding]], list[Finding]] | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for step in self.steps:
            missing = [dep for dep in step.after if dep not in seen]
            if missing:
                raise ValueError(f"step {step.id!r} runs after unknown or later steps {missing}")
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)

    def order(self, step: str) -> int:
        """The position of a step in the tree (the report lists findings in this order)."""
        for index, candidate in enumerate(self.steps):
            if candidate.id == step:
                return index
        return len(self.steps)
