"""``mxwizard serve``: the wizard in a web browser, through textual-serve.

textual-serve has no login of any kind: whoever reaches the port can run checks from this
machine. It therefore listens on 127.0.0.1 unless the user names another address, and then it says
loudly that anyone who can reach that address gets the wizard.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_command(with_lab: bool) -> str:
    """The command each browser session runs (this Python, this package)."""
    words = [sys.executable, "-m", "mxwizard"] + (["--lab"] if with_lab else [])
    return shlex.join(words)


def no_auth_warning(host: str, port: int) -> str | None:
    """The warning to print when the server is reachable from other machines, else None."""
    if is_loopback(host):
        return None
    return (f"mxwizard: warning: serving on {host}:{port} WITHOUT ANY AUTHENTICATION. Anyone who "
            "can reach this address can run the wizard and make this machine send DNS queries and "
            "SMTP connections. Use 127.0.0.1 and an SSH tunnel unless you trust the network.")


def serve_web(host: str = "127.0.0.1", port: int = 8000, with_lab: bool = False) -> int:
    """Serve the wizard over HTTP until Ctrl-C; returns the exit status."""
    from textual_serve.server import Server

    warning = no_auth_warning(host, port)
    if warning:
        print(warning, file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    print(f"mxwizard: serving the wizard on http://{shown}:{port}/ (Ctrl-C stops)", file=sys.stderr)
    server = Server(serve_command(with_lab), host=host, port=port, title="mxwizard")
    server.serve()
    return 0
