"""Shared fixtures: a running lab, and a way to run the CLI in-process and read its JSON."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
import textual.constants

import early
from mxwizard.cli import main
from mxwizard.lab import LAB_DNS_PORT, LAB_HTTPS_PORT, LAB_SMTP_PORT
from mxwizard.lab.world import LabPortTaken, World, running_lab

# Textual's own switch, the one a user sets to turn animations off (TEXTUAL_ANIMATIONS=none):
# scrolling jumps to where it goes instead of gliding there, so a key press in a test returns as
# soon as the screen has settled, not a second later. Textual reads the variable when it is first
# imported, which a pytest plugin (the snapshots') does before this file: read it again here.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
textual.constants.TEXTUAL_ANIMATIONS = textual.constants._get_textual_animations()  # type: ignore[misc]

# Every lab a test starts without naming its ports (``check --lab``, the wizard's own lab, in this
# process or a child) takes free ports: tests run side by side (``pytest -n``), and the documented
# ports are kept for the few tests that show them (``documented_lab``, ``documented_ports``).
os.environ.setdefault("MXWIZARD_LAB_PORTS", "free")

#: How long a test that must show the lab on its documented ports waits for another process
#: (another test run, a ``lab serve``) to let go of them.
DOCUMENTED_PORTS_WAIT = 120.0


def _early_modules(session: pytest.Session) -> list[Any]:
    """The selected test modules that have checks to start ahead (``start_early``)."""
    modules: dict[str, Any] = {}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None and callable(getattr(module, "start_early", None)):
            modules.setdefault(module.__name__, module)
    return list(modules.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that share something outside the process run in one worker of a parallel run
    (``pytest -n 4 --dist loadgroup``, the default in pyproject.toml): the real peers are one set
    of daemons on fixed 127.0.5.x addresses, started once by the worker that runs them; the lab's
    documented ports can be held by one lab at a time."""
    for item in items:
        if "realpeers" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("realpeers"))
        elif "documented_lab" in getattr(item, "fixturenames", ()) or item.get_closest_marker(
                "documented_ports"):
            item.add_marker(pytest.mark.xdist_group("documented-ports"))


def pytest_configure(config: pytest.Config) -> None:
    early.configure()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Clean up, and leave pytest's own end quick: it then runs five full garbage collections
    to surface exceptions raised in finalizers, and each walks every object a worker still holds
    (some 0.4 s here, several times that on a loaded machine). A worker of a parallel run still at
    it 5 s after it was told to end is sent SIGINT by execnet, which showed up as a
    KeyboardInterrupt warning in a loaded run. One collection here finds what there is to find;
    the objects that survive it are frozen (gc.freeze), so the five after it have nothing to walk."""
    early.unconfigure()
    gc.collect()
    gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the checks that run as child processes and spend their time waiting out budgets
    by design (tests/test_bounds_*.py): they run beside the rest of the suite instead of after
    it, once per test run (tests/early.py), and the tests that read them wait for them. Each is
    still measured on its own clock."""
    if not session.config.option.collectonly:
        for module in _early_modules(session):
            module.start_early()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Let those finish, or stop them if the run was cut short: nothing outlives the run."""
    early.finish(session)


@pytest.fixture
async def lab() -> AsyncIterator[World]:
    """The whole lab (DNS server and mail hosts) on free loopback ports, for one test.

    Free ports, not the documented ones: tests point at the lab through ``World.point``, and
    leaving the documented ports alone keeps them for the tests that show them (and for a
    ``mxwizard lab serve`` or another test run on the same machine)."""
    async with running_lab(dns_port=0, smtp_port=0, https_port=0) as world:
        yield world


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_lab() -> AsyncIterator[World]:
    """One lab for every test of a module whose tests only read it (its session logs grow;
    a test that counts sessions counts those made after it started). The module's tests run in
    the module's event loop: ``pytestmark = pytest.mark.asyncio(loop_scope="module")``."""
    async with running_lab(dns_port=0, smtp_port=0, https_port=0) as world:
        yield world


@pytest.fixture
def shared_lab(module_lab: World) -> World:
    """The module's lab, with what its hosts remember between runs (greylisting) forgotten, as
    the wizard does before each check: every test starts from the same lab."""
    module_lab.fresh_run()
    return module_lab


@pytest.fixture
def documented_lab() -> Callable[[], Any]:
    """A lab factory for the wizard (``WizardApp(lab_factory=...)``) that starts the lab on its
    documented ports, waiting while another process holds them: a test that shows the lab's
    ports (a snapshot of the welcome screen) shows the documented ones, whatever else runs."""

    @asynccontextmanager
    async def start() -> AsyncIterator[World]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DOCUMENTED_PORTS_WAIT
        async with AsyncExitStack() as stack:
            while True:
                try:
                    world = await stack.enter_async_context(running_lab(
                        dns_port=LAB_DNS_PORT, smtp_port=LAB_SMTP_PORT, https_port=LAB_HTTPS_PORT))
                except LabPortTaken:  # held by another process for now: wait for it to let go
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
                    continue
                yield world
                return

    return start


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
