"""Jobs that spend their time waiting out budgets by design (the bounds tests' checks, run as
child processes) start once per test run, ahead of the tests that read them, and run beside the
rest of the suite; each is still measured on its own clock.

Once per run, even a parallel one (``pytest -n 2``): every process of the run offers its jobs as it
finishes collecting (tests/conftest.py calls a module's ``start_early``), and the first to claim a
job — an exclusive file in a folder the whole run shares — runs it in a thread. The result is
written there as JSON and read from there by the test, in whichever worker the test runs. A test
whose job nobody started (it was run alone, say) starts it itself and waits.

The folder is named by ``MXWIZARD_TEST_EARLY``: the first process of the run (pytest itself, or
the controller of a parallel run, before it starts its workers) makes it and removes it at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: The environment variable naming the run's shared folder.
ENV = "MXWIZARD_TEST_EARLY"
#: A job: given an event that says "stop now", it returns what JSON can hold.
Job = Callable[[threading.Event], Any]

_started: list[tuple[threading.Thread, threading.Event]] = []
_owned: Path | None = None


def configure() -> None:
    """Make the run's folder, unless a process of this run already made it (pytest_configure)."""
    global _owned
    if not os.environ.get(ENV):
        _owned = Path(tempfile.mkdtemp(prefix="mxwizard-tests-early-"))
        os.environ[ENV] = str(_owned)


def unconfigure() -> None:
    """Remove the folder, in the process that made it (pytest_unconfigure)."""
    global _owned
    if _owned is not None:
        shutil.rmtree(_owned, ignore_errors=True)
        os.environ.pop(ENV, None)
        _owned = None


def _folder() -> Path:
    configure()  # a test module imported outside pytest's hooks (run by hand) still has one
    return Path(os.environ[ENV])


def start(name: str, job: Job) -> None:
    """Run ``job`` in a thread of this process, unless a process of this run already claimed it."""
    folder = _folder()
    try:
        os.close(os.open(folder / f"{name}.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    stop = threading.Event()

    def work() -> None:
        try:
            outcome: dict[str, Any] = {"result": job(stop)}
        except BaseException as exc:  # handed to the test that reads the job
            outcome = {"error": f"{type(exc).__name__}: {exc}"}
        partial = folder / f"{name}.partial"
        partial.write_text(json.dumps(outcome), encoding="utf-8")
        partial.replace(folder / f"{name}.json")  # whole or not at all, for the reader

    thread = threading.Thread(target=work, name=f"early {name}", daemon=True)
    _started.append((thread, stop))
    thread.start()


def result(name: str, job: Job, timeout: float) -> Any:
    """What ``job`` returned: started early by a process of this run, or now, here."""
    start(name, job)
    path = _folder() / f"{name}.json"
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the early job {name} gave no result within {timeout:g} s")
        time.sleep(0.05)
    outcome = json.loads(path.read_text(encoding="utf-8"))
    if "error" in outcome:
        raise RuntimeError(f"the early job {name} failed: {outcome['error']}")
    return outcome["result"]


def take(name: str, timeout: float) -> Any | None:
    """What a job started early returned, for the one test that reads it: ``None`` if no process
    of this run started it, or another test took it already (run it afresh then)."""
    folder = _folder()
    if not (folder / f"{name}.claimed").exists():
        return None
    mine = folder / f"{name}.taken-{os.getpid()}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            (folder / f"{name}.json").rename(mine)  # one reader wins
            break
        except FileNotFoundError:
            if (folder / f"{name}.gone").exists() or time.monotonic() > deadline:
                return None
            time.sleep(0.05)
    (folder / f"{name}.gone").touch()
    outcome = json.loads(mine.read_text(encoding="utf-8"))
    if "error" in outcome:
        raise RuntimeError(f"the early job {name} failed: {outcome['error']}")
    return outcome["result"]


def finish(session: pytest.Session) -> None:
    """At the end of this process's session: in a worker of a parallel run, let its jobs finish
    (a test in another worker may still wait for one; each ends within its own hard limit);
    stop them at once when no other process can want them (a run in one process: its tests are
    all done) or when the run was cut short (Ctrl-C, ``-x``). Nothing outlives the run."""
    cut_short = bool(session.shouldstop or session.shouldfail) or session.exitstatus not in (0, 1)
    alone = "PYTEST_XDIST_WORKER" not in os.environ
    for _thread, stop in _started:
        if cut_short or alone:
            stop.set()
    for thread, _stop in _started:
        thread.join()
    _started.clear()
