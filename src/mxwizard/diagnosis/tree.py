"""The decision tree as data: steps, what each depends on, when it applies, how long it may take.

A :class:`Step` pairs an observation (an async call into the probes) with a judgement (a pure
function from what was observed to findings). Keeping the two apart is what lets the rules be
tested without a network and lets the runner run every observation whose inputs are ready at the
same time. A :class:`Plan` is the tree for one kind of check (receive, send, relay).

What a step observes becomes a fact, stored under the step's :class:`FactKey`: the key carries
the fact's type, so ``facts[MX]`` is an ``MxFacts`` to the type checker, and a rule cannot read a
fact under the wrong name or as the wrong type (the keys are declared in
:mod:`mxwizard.diagnosis.facts`). An observation sees the diagnosis through :class:`Context`, a
protocol: the plans depend on what an observation may use, not on the runner that provides it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from mxwizard.core.findings import Finding
from mxwizard.core.settings import Settings

if TYPE_CHECKING:  # the plans' own imports load these; the tree stays light for the CLI
    from mxwizard.core.transcript import TranscriptLine
    from mxwizard.probes.dns import DnsClient, Lookup

T = TypeVar("T")

#: Most SMTP sessions one diagnosis has open at once (:attr:`Context.smtp_sessions`): a pool of
#: their own, beside the DNS concurrency (``Settings.concurrency``, which they count against
#: too), so that a domain with many MX hosts gets a few sessions at a time, like a sender's,
#: not one per host at once.
SMTP_SESSIONS = 8


@dataclass(frozen=True)
class FactKey(Generic[T]):
    """The name of a fact and, for the type checker, the type of its value.

    Two keys with the same name are the same key (the name is what the runner stores and what
    findings' ``step`` fields say); declare each key once, in :mod:`mxwizard.diagnosis.facts`.
    """

    name: str

    def __str__(self) -> str:
        return self.name


class Facts:
    """What the steps observed so far, each under its key, plus the settings (read-only for
    the rules: only the runner records)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._by_name: dict[str, object] = {}

    def __getitem__(self, key: FactKey[T]) -> T:
        """The fact under ``key`` (KeyError when its step did not run or could not finish)."""
        return cast(T, self._by_name[key.name])

    def get(self, key: FactKey[T]) -> T | None:
        """The fact under ``key``, or None when there is none (yet)."""
        return cast("T | None", self._by_name.get(key.name))

    def __contains__(self, key: object) -> bool:
        """Whether the fact under ``key`` was observed."""
        return isinstance(key, FactKey) and key.name in self._by_name

    def record(self, key: FactKey[T], observed: T) -> None:
        """Store an observation (only the runner calls this)."""
        self._by_name[key.name] = observed


class Context(Protocol):
    """What an observation may use: the settings, the facts of the steps it runs after, the
    diagnosis's shared DNS client and bounds, its clock, and the recorders that put lookups and
    SMTP lines into the report. The runner provides it (:class:`mxwizard.diagnosis.runner.RunContext`);
    tests may provide their own."""

    @property
    def settings(self) -> Settings:
        """The settings the diagnosis runs with."""

    @property
    def facts(self) -> Facts:
        """What earlier steps observed (read-only for observations too)."""

    @property
    def dns(self) -> DnsClient:
        """The diagnosis's DNS client: its lookups appear in the report's DNS view."""

    @property
    def slots(self) -> asyncio.Semaphore:
        """One slot per network operation in flight (``Settings.concurrency``), shared by
        every probe of the diagnosis."""

    @property
    def smtp_sessions(self) -> asyncio.Semaphore:
        """One slot per SMTP session open at once (at most :data:`SMTP_SESSIONS`), on top of a
        network slot."""

    def clock(self) -> float:
        """Milliseconds since the diagnosis started (the time stamps of transcripts)."""

    def record_lookup(self, lookup: Lookup) -> None:
        """Add a lookup made by a probe's own DNS client (an echo server's) to the DNS view."""

    def session(self, host: str, ip: str, port: int) -> Callable[[TranscriptLine], None]:
        """Open a transcript for an SMTP session; returns the sink the SMTP probe writes to."""


@dataclass(frozen=True)
class Step(Generic[T]):
    """One question of the postmaster's decision tree."""

    #: The fact the step produces; its name is the step's id, also the prefix of the step's
    #: ``untested`` finding (``mx``, ``smtp``, ``spf``...).
    fact: FactKey[T]
    #: What the step checks, as a heading ("MX records").
    title: str
    #: Why this matters, in plain words for someone who has never run a mail server.
    why: str
    #: The probe call: gathers facts from the network, through the runner's context.
    observe: Callable[[Context], Awaitable[T]]
    #: The rules: turn the facts into findings. Pure; sees earlier steps' facts too.
    judge: Callable[[Facts, T], list[Finding]]
    #: The facts this step needs; it starts when the steps that produce them have finished.
    after: tuple[FactKey[Any], ...] = ()
    #: Why the step does not apply, given earlier facts ("" when it does): e.g. no SMTP test
    #: for a null MX. The reason becomes the step's ``not-checked`` finding, so a check that
    #: cannot run is never silent. Steps after a skipped one see its facts missing.
    skip: Callable[[Facts], str] | None = None
    #: The step's time limit in units of ``Settings.timeout``: a little more than the number of
    #: network waits it makes one after another, so a probe's own timeout fires first and
    #: becomes a precise finding; the step limit is the backstop that guarantees no hang.
    budget: float = 1.0

    @property
    def id(self) -> str:
        """The step's id: the name of the fact it produces."""
        return self.fact.name


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
            missing = [dep.name for dep in step.after if dep.name not in seen]
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
