"""The runner: walks a plan, runs every step whose inputs are ready at the same time, and reports.

Every step runs in its own task as soon as the steps it depends on have finished, under a time
limit (``Step.budget`` × ``Settings.timeout``). Whatever goes wrong inside a step — a timeout, a
socket error, a bug — becomes an ``error`` finding that says what could not be tested and why;
the other steps carry on. Steps that depend on a step that could not finish are skipped (the
upstream finding explains why). The number of network operations in flight is bounded by
``Settings.concurrency`` through one semaphore that the DNS and SMTP probes share.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from mxwizard.diagnosis.events import (
    DiagnosisFinished,
    DnsAnswered,
    Event,
    FindingMade,
    SmtpLine,
    StepFinished,
    StepStarted,
)
from mxwizard.diagnosis.findings import Finding, Side, Status, could_not_test
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.diagnosis.tree import Facts, Plan, Step
from mxwizard.probes.dns import DnsClient, Lookup, NoResolverError, system_nameservers
from mxwizard.settings import Settings
from mxwizard.transcript import Transcript, TranscriptLine
from mxwizard.untrusted import visible

#: The step whose task is running, so lookups and SMTP lines are attributed to it.
_current_step: contextvars.ContextVar[str] = contextvars.ContextVar("step", default="")


@dataclass
class Context:
    """What a step's observation gets: the settings, shared clients and the recorders."""

    settings: Settings
    facts: Facts
    slots: asyncio.Semaphore
    clock: Callable[[], float]
    emit: Callable[[Event], None]
    transcripts: list[Transcript] = field(default_factory=list)
    _dns: DnsClient | None = None
    _lookups: list[Lookup] = field(default_factory=list)

    @property
    def dns(self) -> DnsClient:
        """The diagnosis's DNS client (created on first use: reading resolv.conf can fail)."""
        if self._dns is None:
            servers = [self.settings.resolver] if self.settings.resolver else system_nameservers()
            self._dns = DnsClient(
                servers, self.settings.timeout, self.record_lookup, self.slots, self.clock
            )
        return self._dns

    def record_lookup(self, lookup: Lookup) -> None:
        """Add a lookup to the DNS view (the shared client does it; probes with a client of
        their own, such as the public-IP echo, hand theirs in here)."""
        self._lookups.append(lookup)
        self.emit(DnsAnswered(_current_step.get(), lookup))

    def session(self, host: str, ip: str, port: int) -> Callable[[TranscriptLine], None]:
        """Open a transcript for an SMTP session; returns the sink the SMTP probe writes lines to."""
        transcript = Transcript(host, ip, port)
        self.transcripts.append(transcript)
        step = _current_step.get()

        def sink(line: TranscriptLine) -> None:
            transcript.add(line)
            self.emit(SmtpLine(step, transcript, line))

        return sink


class Runner:
    """Runs one plan once. ``emit`` receives every event as it happens (the UI's hook)."""

    def __init__(
        self,
        plan: Plan,
        settings: Settings,
        emit: Callable[[Event], None] | None = None,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self._emit_to = emit
        self._started = time.monotonic()
        self._findings: list[tuple[int, int, Finding]] = []
        self._done: dict[str, asyncio.Event] = {}
        self._ok: set[str] = set()
        self.context = Context(
            settings=settings,
            facts=Facts(settings),
            slots=asyncio.Semaphore(max(1, settings.concurrency)),
            clock=self.clock,
            emit=self._emit,
        )

    def clock(self) -> float:
        """Milliseconds since the diagnosis started."""
        return (time.monotonic() - self._started) * 1000

    def _emit(self, event: Event) -> None:
        if self._emit_to is not None:
            self._emit_to(event)

    async def run(self) -> Diagnosis:
        """Run every step and return the finished diagnosis (also sent as the last event)."""
        self._started = time.monotonic()
        self._done = {step.id: asyncio.Event() for step in self.plan.steps}
        tasks = [asyncio.ensure_future(self._run_step(step)) for step in self.plan.steps]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        self._findings.sort(key=lambda item: (item[0], item[1]))
        diagnosis = Diagnosis(
            kind=self.plan.kind,
            target=self.plan.target,
            findings=[finding for _, _, finding in self._findings],
            transcripts=self.context.transcripts,
            lookups=list(self.context._lookups),
            elapsed_ms=self.clock(),
        )
        self._emit(DiagnosisFinished(diagnosis))
        return diagnosis

    def _add(self, step: Step[Any], finding: Finding) -> None:
        if not finding.step:
            finding = replace(finding, step=step.id)
        self._findings.append((self.plan.order(step.id), len(self._findings), finding))
        self._emit(FindingMade(finding))

    async def _run_step(self, step: Step[Any]) -> None:
        try:
            for dep in step.after:
                await self._done[dep].wait()
            facts = self.context.facts
            if any(dep not in self._ok for dep in step.after) or (
                step.when is not None and not step.when(facts)
            ):
                self._emit(StepFinished(step.id, None, self.clock(), skipped=True))
                return
            _current_step.set(step.id)
            self._emit(StepStarted(step.id, step.title, step.why, self.clock()))
            findings = await self._observe_and_judge(step)
            for finding in findings:
                self._add(step, finding)
            worst = max((f.status for f in findings), key=lambda s: s.rank, default=None)
            self._emit(StepFinished(step.id, worst, self.clock()))
        finally:
            self._done[step.id].set()

    async def _observe_and_judge(self, step: Step[Any]) -> list[Finding]:
        limit = step.budget * self.settings.timeout
        try:
            observed = await asyncio.wait_for(step.observe(self.context), timeout=limit)
        except asyncio.TimeoutError:
            return [could_not_test(
                step.id, step.title,
                f"it did not finish within {limit:g} seconds (the servers asked were too slow "
                "or did not answer)", Side.NETWORK)]
        except NoResolverError as exc:
            return [could_not_test(step.id, step.title, str(exc), Side.YOU)]
        except OSError as exc:
            return [could_not_test(
                step.id, step.title, f"of a network error: {visible(str(exc), 300)}",
                Side.NETWORK)]
        except Exception as exc:  # a probe bug must not end the diagnosis
            return [could_not_test(
                step.id, step.title,
                f"the probe failed unexpectedly ({type(exc).__name__}: {visible(str(exc), 300)})")]
        self.context.facts.record(step.id, observed)
        try:
            findings = list(step.judge(self.context.facts, observed))
        except Exception as exc:
            return [could_not_test(
                step.id, step.title,
                f"a rule failed unexpectedly ({type(exc).__name__}: {visible(str(exc), 300)})")]
        self._ok.add(step.id)
        return findings or [Finding(f"{step.id}.ok", Status.PASS, step.title, step=step.id)]


async def diagnose(
    plan: Plan, settings: Settings, emit: Callable[[Event], None] | None = None
) -> Diagnosis:
    """Run ``plan`` with ``settings`` and return the diagnosis (the one-call entry point)."""
    return await Runner(plan, settings, emit).run()
