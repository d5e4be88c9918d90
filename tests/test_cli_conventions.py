"""Command-line conventions: help that fits 80 columns with nothing cut, examples, options only
where they act, and -q / -v deciding how much a text report says."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _mxwizard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mxwizard", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})


@pytest.mark.parametrize("command", [[], ["check"], ["check", "receive"], ["check", "send"],
                                     ["check", "relay"], ["explain"], ["replay"], ["lab"],
                                     ["lab", "serve"], ["serve"]])
def test_help_fits_80_columns_and_cuts_no_summary(command: list[str]) -> None:
    done = _mxwizard(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    cut = [line for line in done.stdout.splitlines() if line.rstrip().endswith("...")
           and not line.startswith("Usage:") and "MXWIZARD_TIMEOUT" not in line]
    assert not cut, cut


def test_the_main_commands_show_examples() -> None:
    for command in (["check", "receive"], ["check", "send"], ["check", "relay"], ["explain"]):
        assert "Examples:" in _mxwizard(*command, "--help").stdout, command


def test_explain_takes_no_network_options_it_would_ignore() -> None:
    done = _mxwizard("explain", "--resolver", "127.0.0.1", "550 5.1.1 User unknown")
    assert done.returncode == 2 and "--resolver" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_quiet_and_verbose_decide_how_much_the_report_says() -> None:
    args = ["check", "receive", "doesnotexist.test", "--lab"]
    normal, quiet, verbose = _mxwizard(*args), _mxwizard(*args, "-q"), _mxwizard(*args, "-v")
    assert normal.returncode == quiet.returncode == verbose.returncode == 1
    assert quiet.stdout.startswith("✖ FAIL") and "domain.nxdomain" in quiet.stdout
    assert "not-checked" not in quiet.stdout and "DNS lookups" not in quiet.stdout
    assert "not-checked" in normal.stdout and "DNS lookups" not in normal.stdout
    assert "DNS lookups" in verbose.stdout and " ms" in verbose.stdout
    both = _mxwizard(*args, "-q", "-v")
    assert both.returncode == 2 and len(both.stderr.strip().splitlines()) == 1
