"""Shared fixtures: a running lab, and a way to run the CLI in-process and read its JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mxwizard.cli import main
from mxwizard.lab.world import World, running_lab


@pytest.fixture
async def lab() -> AsyncIterator[World]:
    """The whole lab (DNS server and mail hosts) on free loopback ports, for one test."""
    async with running_lab() as world:
        yield world


@pytest.fixture
def slow_lab_latency() -> float:
    """Latency (ms) for tests that need lookups to take measurable time."""
    return 100.0


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``mxwizard ARGS`` in this process; returns (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def check_json(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], tuple[int, Any]]:
    """Run a ``check``/``explain`` command with ``--format json``; returns (status, parsed JSON)."""

    def run(args: list[str]) -> tuple[int, Any]:
        code, out, err = run_cli([*args, "--format", "json"], capsys)
        assert "Traceback" not in err, err
        return code, json.loads(out)

    return run
