"""The runner, with small fake probes: concurrency, time limits, failures, event order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mxwizard.core.exits import EXIT_FAIL, EXIT_INCOMPLETE, EXIT_OK
from mxwizard.core.findings import Finding, Status
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.events import (
    DiagnosisFinished,
    Event,
    FindingMade,
    StepFinished,
    StepStarted,
)
from mxwizard.diagnosis.runner import diagnose
from mxwizard.diagnosis.tree import FactKey, Facts, Plan, Step


def sleeper(seconds: float, value: Any = None) -> Any:
    async def observe(ctx: Any) -> Any:
        started = time.monotonic()
        await asyncio.sleep(seconds)
        return (started, time.monotonic(), value)

    return observe


def passes(step: str) -> Any:
    def judge(facts: Facts, observed: Any) -> list[Finding]:
        return [Finding(f"{step}.ok", Status.PASS, f"{step} is fine")]

    return judge


def step(id: str, observe: Any, after: tuple[str, ...] = (), **kw: Any) -> Step[Any]:
    return Step(FactKey(id), id.title(), f"why {id}", observe, kw.pop("judge", passes(id)),
                tuple(FactKey(dep) for dep in after), **kw)


async def test_independent_steps_overlap_in_time() -> None:
    plan = Plan("test", {}, tuple(step(f"s{i}", sleeper(0.3)) for i in range(6)))
    started = time.monotonic()
    diagnosis = await diagnose(plan, Settings(timeout=5))
    elapsed = time.monotonic() - started
    assert diagnosis.ids() == [f"s{i}.ok" for i in range(6)]
    # six 0.3 s steps run one after another would take 1.8 s
    assert elapsed < 1.2


async def test_dependent_steps_run_in_order_and_see_earlier_facts() -> None:
    seen: list[Any] = []

    def judge_b(facts: Facts, observed: Any) -> list[Finding]:
        seen.append(facts[FactKey[Any]("a")][2])
        return []

    plan = Plan("test", {}, (
        step("a", sleeper(0.1, "from a")),
        step("b", sleeper(0.0), after=("a",), judge=judge_b),
    ))
    diagnosis = await diagnose(plan, Settings(timeout=5))
    assert seen == ["from a"]
    assert diagnosis.ids() == ["a.ok", "b.ok"]  # an empty judgement still says the step passed


async def test_a_hanging_probe_becomes_an_error_within_its_timeout() -> None:
    plan = Plan("test", {}, (
        step("hangs", sleeper(3600), budget=1.0),
        step("quick", sleeper(0.05)),
        step("after_hang", sleeper(0), after=("hangs",)),
    ))
    events: list[Event] = []
    started = time.monotonic()
    diagnosis = await diagnose(plan, Settings(timeout=0.5), events.append)
    assert time.monotonic() - started < 2
    by_id = {f.id: f for f in diagnosis.findings}
    assert by_id["hangs.untested"].status is Status.ERROR
    assert "did not finish within 0.5 seconds" in by_id["hangs.untested"].detail
    assert by_id["quick.ok"].status is Status.PASS
    assert "after_hang.ok" not in by_id  # it depends on the step that could not finish
    skipped = [e for e in events if isinstance(e, StepFinished) and e.skipped]
    assert [e.step for e in skipped] == ["after_hang"]
    assert diagnosis.exit_status == EXIT_INCOMPLETE


async def test_an_exception_in_a_probe_becomes_an_error_finding() -> None:
    async def broken(ctx: Any) -> None:
        raise KeyError("the probe tripped")

    async def refused(ctx: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    plan = Plan("test", {}, (step("broken", broken), step("refused", refused),
                             step("fine", sleeper(0))))
    diagnosis = await diagnose(plan, Settings(timeout=2))
    by_id = {f.id: f for f in diagnosis.findings}
    assert by_id["broken.untested"].status is Status.ERROR
    assert "KeyError" in by_id["broken.untested"].detail
    assert "Connection refused" in by_id["refused.untested"].detail
    assert by_id["refused.untested"].side.value == "network"
    assert by_id["fine.ok"].status is Status.PASS


async def test_a_failing_rule_becomes_an_error_finding() -> None:
    def bad_rule(facts: Facts, observed: Any) -> list[Finding]:
        raise ZeroDivisionError("rule bug")

    plan = Plan("test", {}, (step("r", sleeper(0), judge=bad_rule),))
    diagnosis = await diagnose(plan, Settings(timeout=2))
    assert diagnosis.findings[0].status is Status.ERROR
    assert "rule failed" in diagnosis.findings[0].detail


async def test_steps_that_do_not_apply_are_skipped() -> None:
    plan = Plan("test", {}, (
        step("a", sleeper(0)),
        step("b", sleeper(0), after=("a",), skip=lambda facts: "it does not apply here"),
        step("c", sleeper(0), after=("b",)),
    ))
    diagnosis = await diagnose(plan, Settings(timeout=2))
    # a check that does not run says so, with why; what depends on it still runs
    assert diagnosis.ids() == ["a.ok", "b.not-checked", "c.ok"]
    skipped = diagnosis.findings[1]
    assert skipped.status is Status.INFO and "it does not apply here" in skipped.detail
    assert diagnosis.exit_status == EXIT_OK


async def test_steps_after_a_broken_step_say_they_were_not_checked() -> None:
    async def broken(ctx: Any) -> None:
        raise RuntimeError("probe bug")

    plan = Plan("test", {}, (step("a", broken), step("b", sleeper(0), after=("a",))))
    diagnosis = await diagnose(plan, Settings(timeout=2))
    assert diagnosis.ids() == ["a.untested", "b.not-checked"]
    assert "could not be completed" in diagnosis.findings[1].detail


async def test_events_arrive_in_a_consistent_order() -> None:
    def fails(facts: Facts, observed: Any) -> list[Finding]:
        return [Finding("x.bad", Status.FAIL, "X is broken")]

    plan = Plan("test", {}, (
        step("a", sleeper(0.05)),
        step("b", sleeper(0.01), judge=fails),
        step("c", sleeper(0.02), after=("a", "b")),
    ))
    events: list[Event] = []
    diagnosis = await diagnose(plan, Settings(timeout=2), events.append)
    assert isinstance(events[-1], DiagnosisFinished)
    assert events[-1].diagnosis is diagnosis
    for name in ("a", "b", "c"):
        start = next(i for i, e in enumerate(events)
                     if isinstance(e, StepStarted) and e.step == name)
        finish = next(i for i, e in enumerate(events)
                      if isinstance(e, StepFinished) and e.step == name)
        made = [i for i, e in enumerate(events)
                if isinstance(e, FindingMade) and e.finding.step == name]
        assert made and all(start < i < finish for i in made)
    finish_a = next(i for i, e in enumerate(events) if isinstance(e, StepFinished) and e.step == "a")
    start_c = next(i for i, e in enumerate(events) if isinstance(e, StepStarted) and e.step == "c")
    assert finish_a < start_c
    # the report lists findings in tree order, whatever order they were made in
    assert diagnosis.ids() == ["a.ok", "x.bad", "c.ok"]
    assert diagnosis.exit_status == EXIT_FAIL
    assert diagnosis.verdict.status is Status.FAIL
    assert diagnosis.verdict.summary == "X is broken"


async def test_concurrency_one_serialises_network_operations() -> None:
    async def uses_slot(ctx: Any) -> float:
        async with ctx.slots:
            await asyncio.sleep(0.1)
        return 0.0

    plan = Plan("test", {}, tuple(step(f"n{i}", uses_slot) for i in range(4)))
    started = time.monotonic()
    await diagnose(plan, Settings(timeout=5, concurrency=1))
    assert time.monotonic() - started >= 0.4
