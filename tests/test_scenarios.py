"""Every lab scenario, run the way a user runs it, must produce the findings it promises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import scenario_timeouts
from mxwizard.lab.scenarios import SCENARIOS, Scenario
from report_invariants import contradictions


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 25
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario_inputs_are_what_its_check_asks_for(scenario: Scenario) -> None:
    """The inputs are the check's own fields, valid as typed: the form shows them, and the
    command line is made of them (positional first, then the options)."""
    check = scenario.check
    assert set(scenario.inputs) <= {field.name for field in check.fields}
    _, errors = check.parse(scenario.inputs)
    assert errors == {}
    assert scenario.args[:2] == ("check", scenario.kind) and scenario.args[-1] == "--lab"
    for field in check.fields:
        value = scenario.inputs.get(field.name)
        if value and field.option:
            assert scenario.args[scenario.args.index(field.option) + 1] == value
        elif value:
            assert scenario.args[2] == value


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario_produces_its_findings(
    scenario: Scenario, check_json: Callable[[list[str]], tuple[int, Any]]
) -> None:
    code, report = check_json(scenario_timeouts.cli_args(scenario))  # a short wait where it waits
    found = [f["id"] for f in report["findings"]]
    missing = [i for i in scenario.expect if i not in found]
    assert not missing, f"{scenario.name}: missing {missing}, found {found}"
    statuses = {f["status"] for f in report["findings"]}
    assert code == (1 if "fail" in statuses else 3 if "error" in statuses else 0)
    assert not contradictions(report), f"{scenario.name}: {contradictions(report)}"

