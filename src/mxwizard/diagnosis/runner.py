"""The runner: walks a plan, runs every step whose inputs are ready at the same time, and reports.

Every step runs in its own task as soon as the steps it depends on have finished, under a time
limit (``Step.budget`` × ``Settings.timeout``). Whatever goes wrong inside a step — a timeout, a
socket error, a bug — becomes an ``error`` finding that says what could not be tested and why;
the other steps carry on. A step that does not run — because a step it depends on could not
finish, or because its ``skip`` rule says it does not apply — says so in a ``not-checked``
finding: a report never leaves a check out in silence. The number of network operations in
flight is bounded by ``Settings.concurrency`` through one semaphore that the DNS and SMTP probes
share, and the SMTP sessions open at once by ``SMTP_SESSIONS`` through a pool of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from mxwizard.core.findings import Finding, Side, Status, could_not_test, not_checked, worst_status
from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Transcript, TranscriptLine
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.events import (
    DiagnosisFinished,
    DnsAnswered,
    Event,
    FindingMade,
    SmtpLine,
    StepFinished,
    StepStarted,
)
from mxwizard.diagnosis.facts import RESOLVER_SANITY
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.diagnosis.rules.checklist import checklist_of
from mxwizard.diagnosis.rules.dns import distrust_lying_resolver
from mxwizard.diagnosis.tree import SMTP_SESSIONS, FactKey, Facts, Plan, Step
from mxwizard.probes.dns import DnsClient, Lookup, NoResolverError, Outcome, system_nameservers
from mxwizard.probes.resolver_health import resolver_sanity

T = TypeVar("T")

#: The step whose task is running, so lookups and SMTP lines are attributed to it.
_current_step: contextvars.ContextVar[str] = contextvars.ContextVar("step", default="")


@dataclass
class RunContext:
    """What a step's observation gets (the :class:`~mxwizard.diagnosis.tree.Context` protocol):
    the settings, the shared clients and bounds, and the recorders."""

    settings: Settings
    facts: Facts
    #: One slot per network operation in flight (``Settings.concurrency``).
    slots: asyncio.Semaphore
    #: One slot per SMTP session open at once (at most ``SMTP_SESSIONS``); a session also
    #: holds a network slot. It lives exactly as long as the diagnosis.
    smtp_sessions: asyncio.Semaphore
    clock: Callable[[], float]
    emit: Callable[[Event], None]
    transcripts: list[Transcript] = field(default_factory=list)
    _dns: DnsClient | None = None
    _lookups: list[Lookup] = field(default_factory=list)
    #: Observations no step waits for, by the name of their fact: the task, its key, and when
    #: a rule needs it.
    _background: dict[str, tuple[asyncio.Task[Any], FactKey[Any], Callable[[], bool]]] = field(
        default_factory=dict)
    #: Whether a lookup said "no such name" yet: the resolver check matters to the rules then.
    _saw_nxdomain: bool = False
    #: Set when the diagnosis is over: a lookup still in flight then is neither kept nor sent.
    _over: bool = False

    @property
    def dns(self) -> DnsClient:
        """The diagnosis's DNS client (created on first use: reading resolv.conf can fail).

        Creating it also asks the resolver the sanity question (is it honest?) in the
        background, in the same round as the first real lookup: a resolver that says "no such
        name" for everything must not make a rule blame the domain."""
        if self._dns is None:
            servers = [self.settings.resolver] if self.settings.resolver else system_nameservers()
            self._dns = DnsClient(
                servers, self.settings.timeout, self.record_lookup, self.slots, self.clock
            )
            self.background(RESOLVER_SANITY, resolver_sanity(self._dns),
                            matters=lambda: self._saw_nxdomain)
        return self._dns

    def record_lookup(self, lookup: Lookup) -> None:
        """Add a lookup to the DNS view (the shared client does it; probes with a client of
        their own, such as the public-IP echo, hand theirs in here)."""
        if self._over:
            return
        self._lookups.append(lookup)
        if lookup.outcome is Outcome.NXDOMAIN:
            self._saw_nxdomain = True
        self.emit(DnsAnswered(_current_step.get(), lookup))

    def background(self, key: FactKey[T], observation: Coroutine[Any, Any, T],
                   matters: Callable[[], bool]) -> None:
        """Start an observation that no step waits for; its result becomes the fact ``key``
        as soon as it arrives. While ``matters()`` says a rule could read it, the runner waits
        for it (at most one timeout) before a rule judges; otherwise nobody waits for it."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no diagnosis is running (a client made outside one)
            observation.close()
            return
        task: asyncio.Task[T] = asyncio.ensure_future(observation)
        self._background[key.name] = (task, key, matters)
        task.add_done_callback(lambda done: self._record_background(key, done))

    def _record_background(self, key: FactKey[T], task: asyncio.Task[T]) -> None:
        if task.done() and not task.cancelled() and task.exception() is None:
            self.facts.record(key, task.result())

    async def settle(self) -> None:
        """Wait for the background observations a rule may read now (each at most a timeout;
        one that does not come in time stays unknown, and the rules treat it so)."""
        for task, key, matters in list(self._background.values()):
            if not task.done() and matters():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), self.settings.timeout)
            self._record_background(key, task)

    async def stop_background(self) -> None:
        """Cancel the background observations still running: the diagnosis is over."""
        self._over = True
        pending = [task for task, _, _ in self._background.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

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
        #: What was said already (a finding without its step), so it is not said twice.
        self._said: set[tuple[object, ...]] = set()
        self._done: dict[str, asyncio.Event] = {}
        #: Steps that finished (or did not apply): their dependents may run.
        self._ok: set[str] = set()
        self.context = RunContext(
            settings=settings,
            facts=Facts(settings),
            slots=asyncio.Semaphore(max(1, settings.concurrency)),
            smtp_sessions=asyncio.Semaphore(max(1, min(SMTP_SESSIONS, settings.concurrency))),
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
        finally:
            await self.context.stop_background()
        self._findings.sort(key=lambda item: (item[0], item[1]))
        diagnosis = Diagnosis(
            kind=self.plan.kind,
            target=self.plan.target,
            findings=self._reconciled([finding for _, _, finding in self._findings]),
            transcripts=self.context.transcripts,
            lookups=list(self.context._lookups),
            elapsed_ms=self.clock(),
            checklist=checklist_of(self.context.facts),
        )
        self._emit(DiagnosisFinished(diagnosis))
        return diagnosis

    def _reconciled(self, findings: list[Finding]) -> list[Finding]:
        """The reconciliation passes over the findings: nothing counted that rests on a lying
        resolver, then the plan's own pass (a bug in either changes nothing)."""
        facts = self.context.facts
        for reconcile in (distrust_lying_resolver, self.plan.reconcile):
            if reconcile is None:
                continue
            try:
                findings = reconcile(facts, findings)
            except Exception:
                continue
        return findings

    def _title(self, step_id: str) -> str:
        return next((s.title for s in self.plan.steps if s.id == step_id), step_id)

    def _add(self, step: Step[Any], finding: Finding) -> None:
        # The same judgement reached by two rules (a lying resolver, seen by every rule that
        # read a "no such name") is said once, by the first step that reached it.
        said = (finding.id, finding.status, finding.title, finding.detail, finding.fix,
                finding.side, tuple(finding.evidence))
        if said in self._said:
            return
        self._said.add(said)
        if not finding.step:
            finding = replace(finding, step=step.id)
        self._findings.append((self.plan.order(step.id), len(self._findings), finding))
        self._emit(FindingMade(finding))

    async def _run_step(self, step: Step[Any]) -> None:
        try:
            for dep in step.after:
                await self._done[dep.name].wait()
            facts = self.context.facts
            blocked = [dep.name for dep in step.after if dep.name not in self._ok]
            if blocked:
                reason = (f"it needs the result of '{self._title(blocked[0])}', which could not "
                          "be completed (see above)")
            else:
                reason = step.skip(facts) if step.skip is not None else ""
            if reason:
                if not blocked:
                    self._ok.add(step.id)
                self._add(step, not_checked(step.id, step.title, reason))
                self._emit(StepFinished(step.id, None, self.clock(), skipped=True))
                return
            _current_step.set(step.id)
            self._emit(StepStarted(step.id, step.title, step.why, self.clock()))
            findings = await self._observe_and_judge(step)
            for finding in findings:
                self._add(step, finding)
            self._emit(StepFinished(step.id, worst_status(findings), self.clock()))
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
        self.context.facts.record(step.fact, observed)
        await self.context.settle()
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
