"""Every lab scenario, run the way a user runs it, must produce the findings it promises.

Scenarios whose probes a later issue builds are marked expected-to-fail (strictly: when the probe
lands, the mark must be removed, or this test fails).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mxwizard.lab.scenarios import SCENARIOS, Scenario

#: Scenario name -> the issue that builds what it needs (none pending now).
PENDING: dict[str, str] = {}


def _param(scenario: Scenario) -> Any:
    marks = [pytest.mark.xfail(reason=PENDING[scenario.name], strict=True)] \
        if scenario.name in PENDING else []
    return pytest.param(scenario, id=scenario.name, marks=marks)


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 25
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("scenario", [_param(s) for s in SCENARIOS])
def test_scenario_produces_its_findings(
    scenario: Scenario, check_json: Callable[[list[str]], tuple[int, Any]]
) -> None:
    code, report = check_json(list(scenario.args))
    found = [f["id"] for f in report["findings"]]
    missing = [i for i in scenario.expect if i not in found]
    assert not missing, f"{scenario.name}: missing {missing}, found {found}"
    statuses = {f["status"] for f in report["findings"]}
    assert code == (1 if "fail" in statuses else 3 if "error" in statuses else 0)
