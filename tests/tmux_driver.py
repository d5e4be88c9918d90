"""A private tmux server (its own socket) with a program in it, driven like a person at the
keyboard: what the terminal-safety and small-terminal tests share. Each test module adds how it
waits for the screen (plain text, or cells with their colours)."""

from __future__ import annotations

import os
import subprocess


class Tmux:
    """One tmux server on its own socket; ``server(*args)`` runs a tmux command against it."""

    def __init__(self, prefix: str, name: str) -> None:
        self.socket = f"{prefix}-{os.getpid()}-{name}"

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              timeout=20, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr}")
        return done.stdout

    def screen(self, target: str = "app") -> str:
        """The pane's text, as shown."""
        return self("capture-pane", "-p", "-t", target)

    def keys(self, *keys: str, target: str = "app") -> None:
        """Press these keys (tmux key names: Enter, Escape, C-u...)."""
        self("send-keys", "-t", target, *keys)

    def type(self, text: str, target: str = "app") -> None:
        """Type this text, character by character."""
        self("send-keys", "-t", target, "-l", text)
