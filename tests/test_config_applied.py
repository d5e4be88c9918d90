"""The config file and MXWIZARD_* variables really reach the commands: a user who always uses one
resolver sets it once, and the command line still wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _check(args: list[str], env: dict[str, str]) -> tuple[int, dict[str, object], str]:
    done = subprocess.run([sys.executable, "-m", "mxwizard", *args, "--format", "json"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


def test_environment_and_file_apply_and_the_command_line_wins(tmp_path: Path) -> None:
    config = tmp_path / "mxwizard"
    config.mkdir()
    (config / "config.toml").write_text('timeout = 7\nlab = true\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path), "MXWIZARD_PRIVATE_NETWORK": "1"}
    code, report, err = _check(["check", "receive", "healthy.test"], env)
    assert code == 0, err  # lab from the file, private network from the environment
    assert "smtp.accepts" in [f["id"] for f in report["findings"]]  # type: ignore[index]
    # a bad value names its source, in one line
    code, _report, err = _check(["check", "receive", "healthy.test"],
                                {**env, "MXWIZARD_TIMEOUT": "forever"})
    assert code == 2 and "MXWIZARD_TIMEOUT" in err and len(err.strip().splitlines()) == 1
    # the command line wins over the environment: a timeout too short for any answer from the
    # environment breaks the check, and --timeout on the command line mends it
    short = {**env, "MXWIZARD_TIMEOUT": "0.001"}
    code, report, err = _check(["check", "receive", "healthy.test"], short)
    assert code == 3, err
    code, report, err = _check(["check", "receive", "healthy.test", "--timeout", "5"], short)
    assert code == 0, err
