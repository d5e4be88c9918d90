"""Running the real programs: bounded one-shot commands and long-running daemons we own.

Every call has a timeout. Daemons run in the foreground as our children (never daemonized), in
their own session so that a Ctrl-C on pytest reaches the fixtures' teardown rather than the
daemons, and they are stopped by their own process id only.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .network import wait_for

#: The longest any one-shot command (openssl, postfix check, swaks, dig) may take.
COMMAND_TIMEOUT = 30.0


def run(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT, check: bool = True,
        input_bytes: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a command to completion within ``timeout``; with ``check``, fail with its output."""
    done = subprocess.run(list(argv), input=input_bytes, capture_output=True, timeout=timeout,
                          cwd=cwd, check=False, stdin=None if input_bytes is not None else subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n"
                           f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}")
    return done


def run_with_tty(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdout and stderr: (exit status, what it printed).

    Postfix commands print their errors ("fatal: parameter inet_interfaces: no local interface
    found ...") only when stderr is a terminal, and otherwise to syslog, which a test machine
    may not have. Without this, a broken configuration would fail with no message at all.
    """
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=follower,
                                   stderr=follower, start_new_session=True)
    finally:
        os.close(follower)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                process.kill()
                process.wait(5)
                raise TimeoutError(f"{' '.join(argv)} took more than {timeout:g} s")
            ready, _, _ = select.select([leader], [], [], min(remaining, 0.2))
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: every writer has closed the terminal
                    chunk = b""
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        status = process.wait(max(0.1, deadline - time.monotonic()))
    finally:
        os.close(leader)
    return status, output.decode(errors="replace").replace("\r\n", "\n")


class Daemon:
    """A long-running program started by a fixture, with its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, *, cwd: Path | None = None,
                 grace: float = 10.0) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        #: How long ``stop`` waits after SIGTERM before SIGKILL.
        self.grace = grace
        with log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, cwd=cwd,
                                            start_new_session=True)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def wait_ready(self, ready: Callable[[], object], timeout: float = 20.0,
                   extra_logs: Sequence[Path] = ()) -> None:
        """Wait until ``ready()`` holds; on failure, raise with the daemon's own words."""
        try:
            wait_for(self.name, ready, timeout, alive=self.alive)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()  # nobody else holds this daemon yet: it must not outlive the failure
            raise RuntimeError(f"{exc}\n{self.tail(extra_logs=extra_logs)}") from None

    def tail(self, lines: int = 25, extra_logs: Sequence[Path] = ()) -> str:
        """The end of the daemon's log files, for error messages."""
        out = []
        for path in (self.log, *extra_logs):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within its grace; always reaps the process."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(self.grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(10)
