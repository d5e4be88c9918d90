"""``mxwizard serve``: the wizard in a web browser, through textual-serve, behind a secret URL.

textual-serve has no login of any kind, checks neither the ``Host`` nor the ``Origin`` header, and
starts a wizard for every websocket that connects. Binding to 127.0.0.1 is not enough on its own:
any web page the user has open can open a websocket to ``ws://127.0.0.1:8000/ws``, and a page on
a domain the attacker re-points at 127.0.0.1 (DNS rebinding) can even read the answers. Each
browser session here can make this machine send DNS queries and SMTP connections, so
``GuardedServer`` (defined on first use, see :func:`_make_guarded_server`) puts three locks on it,
all decided before any wizard starts:

- a secret token, new on every run (:func:`new_token`), in the URL printed at start (as notebook
  servers do). The page is only served to a request that carries it, and the page's websocket
  URL carries it in its path (``/ws/<token>``), so only someone who was given the URL can start
  a wizard. No cookie: a browser sends a host's cookies to every port of it, so any other local
  web server would receive the token;
- the ``Host`` header of every request must name this server (the bound address, ``localhost``
  for a loopback address, or the host of ``--public-url``): a rebound domain is refused;
- the websocket's ``Origin`` must be this server's own origin: another page in the same browser
  is refused even if it learnt the token.

A refusal is an HTTP 403 with one line of text, also printed (escaped) on the server's terminal.
Downloads (``/download/<key>``) carry single-use random keys that only the wizard hands to its own
page, and static files are public; both still need the right ``Host``.

In the browser the wizard sends exports and saved sessions as downloads instead of writing files
on the server, and opens session files only from the directory fixed at start
(:data:`FILES_DIR_ENV`). Textual is not imported here: the served wizard is another process.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import re
import secrets
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mxwizard.core.untrusted import visible

if TYPE_CHECKING:
    from aiohttp import web

#: The environment variable that tells a served wizard the one directory it may open files from.
FILES_DIR_ENV = "MXWIZARD_WEB_FILES_DIR"
#: Font sizes the page accepts in ``?fontsize=`` (a projector wants 24 or more).
FONT_SIZES = range(8, 73)


class ServeError(Exception):
    """A problem that stops ``serve`` before it starts; ``str()`` is one line for the user."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_unspecified(host: str) -> bool:
    """True for 0.0.0.0 and ::, which listen on every address (browsers cannot use them)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def url_host(host: str) -> str:
    """The host as it is written in a URL: an IPv6 address in brackets (``[::1]``)."""
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def serve_command(with_lab: bool, options: Sequence[str] = ()) -> str:
    """The command each browser session runs (this Python, this package, the root options)."""
    words = [sys.executable, "-m", "mxwizard", *options]
    if with_lab and "--lab" not in words:
        words.append("--lab")
    return shlex.join(words)


def no_auth_warning(host: str, port: int, public_url: str | None = None) -> str | None:
    """The warning to print when the server is reachable from other machines, else None."""
    if is_loopback(host):
        return None
    clear = public_url is None or public_url.startswith("http:")
    return (f"mxwizard: warning: serving on {host}:{port} to other machines. textual-serve works "
            "WITHOUT ANY AUTHENTICATION; the secret token in the URL is the only lock"
            + (" and it crosses the network unencrypted (plain HTTP)" if clear else "")
            + ". Anyone who has the URL can run the wizard and make this machine send DNS "
            "queries and SMTP connections. Share it only with the people in the room; 127.0.0.1 "
            "and an SSH tunnel are safer.")


def new_token() -> str:
    """A fresh secret for one run: 32 URL-safe characters (192 random bits)."""
    return secrets.token_urlsafe(24)


def parse_public_url(url: str) -> str:
    """Check ``--public-url`` and return it without a trailing slash: ``http(s)://host[:port]``.

    A path, a query or a user name would not survive textual-serve's way of building its URLs
    (it appends ``/ws`` and ``/static`` to this text), so they are refused.
    """
    shown = visible(url, 200)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ServeError(f"--public-url {shown} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServeError(f"--public-url {shown} must start with http:// or https:// and name a host")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ServeError(f"--public-url {shown} must be only scheme, host and port, like "
                         "http://classroom-pc.example:8000/")
    base = f"{parts.scheme}://{url_host(parts.hostname)}"
    return base + (f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else "")


_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Guard:
    """What a request must carry to be served: the token, a Host naming this server and (for the
    websocket) this server's Origin. Pure, so the rules are tested without a network."""

    token: str
    #: Acceptable Host header values, lower case (``127.0.0.1:8000``, ``[::1]:8000``, ...).
    hosts: frozenset[str]
    #: Acceptable Origin header values (``http://127.0.0.1:8000``, ...).
    origins: frozenset[str]

    def token_ok(self, given: str | None) -> bool:
        """True if ``given`` is the token (compared in constant time)."""
        return given is not None and secrets.compare_digest(given.encode(), self.token.encode())

    def host_problem(self, host: str | None) -> str | None:
        """Why a request with this Host header is refused, or None."""
        if not host:
            return "no Host header"
        if host.lower() not in self.hosts:
            return f"Host {visible(host, 100)} is not this server"
        return None

    def websocket_problem(self, origin: str | None, token: str | None) -> str | None:
        """Why a websocket with this Origin and token is refused, or None."""
        if not origin:
            return "no Origin header"
        if origin.lower() not in self.origins:
            return f"Origin {visible(origin, 100)} is not this server's page"
        if not self.token_ok(token):
            return "wrong or missing token"
        return None


def guard_for(host: str, port: int, token: str, public_url: str | None = None) -> Guard:
    """The guard of a server bound to ``host``:``port`` and reached at ``public_url`` (if any)."""
    hosts: set[str] = set()
    origins: set[str] = set()

    def allow(scheme: str, name: str, at: int) -> None:
        default = at == _DEFAULT_PORTS[scheme]
        hosts.add(f"{url_host(name)}:{at}".lower())
        origins.add(f"{scheme}://{url_host(name)}{'' if default else f':{at}'}".lower())
        if default:
            hosts.add(url_host(name).lower())

    if not is_unspecified(host):
        allow("http", host, port)
    if is_loopback(host):
        allow("http", "localhost", port)
    if public_url is not None:
        parts = urlsplit(public_url)
        assert parts.hostname is not None  # checked by parse_public_url
        allow(parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme])
    return Guard(token, frozenset(hosts), frozenset(origins))


def served_files_dir() -> Path:
    """The one directory a wizard served in a browser opens files from: the one ``serve`` fixed
    at start, else (textual-serve run by hand) the current directory."""
    return Path(os.environ.get(FILES_DIR_ENV) or os.getcwd())


def download_name(raw: str, default: str) -> str:
    """A file name that is safe in a download's Content-Disposition header (textual-serve does not
    quote it): the last part of ``raw``, letters, digits, dot, dash and underscore only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(raw.strip()).name).strip("._")[:100]
    return name or default


def page_url(base: str, token: str) -> str:
    """The URL to print and open: the base URL with the token."""
    return f"{base}/?token={token}"


# --- the server ------------------------------------------------------------------------------

@functools.cache
def _make_guarded_server() -> type:
    """Define :class:`GuardedServer` on first use, so importing this module stays cheap (the CLI
    imports it for ``serve`` only, and the served wizard never needs aiohttp)."""
    import aiohttp_jinja2
    import jinja2
    from aiohttp import web
    from textual_serve.server import Server, to_int

    class GuardedServer(Server):
        """textual-serve's server with the token, Host and Origin checks (see the module)."""

        def __init__(self, command: str, guard: Guard, base_url: str, log: Callable[[str], None]):
            super().__init__(command, title="mxwizard", public_url=base_url)
            self.guard = guard
            self.log = log

        def refuse(self, request: web.Request, why: str) -> web.Response:
            """A 403 with one line, and the same line (escaped) on the server's terminal."""
            peer = visible(str(request.remote), 60)
            path = "/ws/…" if request.path.startswith("/ws/") else visible(request.path, 80)
            self.log(f"mxwizard: refused {request.method} {path} from {peer}: {why}")
            return web.Response(status=403, text=f"mxwizard: refused: {why}\n")

        async def _make_app(self) -> web.Application:
            @web.middleware
            async def check_host(request: web.Request,
                                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                 ) -> web.StreamResponse:
                problem = self.guard.host_problem(request.headers.get("Host"))
                if problem is not None:
                    return self.refuse(request, problem)
                return await handler(request)

            app = web.Application(middlewares=[check_host])
            aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
            app.add_routes([
                web.get("/", self.serve_page, name="index"),
                web.get("/ws/{token}", self.open_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ])
            app.on_shutdown.append(self.on_shutdown)
            return app

        async def serve_page(self, request: web.Request) -> web.StreamResponse:
            """The page, for a request with the token; its websocket URL carries the token."""
            token = request.query.get("token")
            if not self.guard.token_ok(token):
                return self.refuse(request, "this page needs the secret URL printed by "
                                            "'mxwizard serve' (with its ?token=)")
            font_size = to_int(request.query.get("fontsize", "16"), 16)
            font_size = min(max(font_size, FONT_SIZES.start), FONT_SIZES.stop - 1)
            base = self.public_url
            websocket = base.replace("http", "ws", 1) + f"/ws/{self.guard.token}"
            context = {
                "font_size": font_size,
                "app_websocket_url": websocket,
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": self.title},
            }
            response = aiohttp_jinja2.render_template("app_index.html", request, context)
            response.headers.update({
                "Cache-Control": "no-store",  # the page holds the token
                "Referrer-Policy": "no-referrer",  # ... and must not leak it to the fonts' host
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-ancestors 'none'",
            })
            return response

        async def open_websocket(self, request: web.Request) -> web.StreamResponse:
            """Start a wizard for a websocket from this server's page with the token."""
            problem = self.guard.websocket_problem(request.headers.get("Origin"),
                                                   request.match_info.get("token"))
            if problem is not None:
                return self.refuse(request, problem)
            self.log(f"mxwizard: a browser session started from {visible(str(request.remote), 60)}")
            response: web.StreamResponse = await self.handle_websocket(request)
            return response

    return GuardedServer


# --- listening and running ----------------------------------------------------------------------

def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or a :class:`ServeError` that says what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shown = f"{url_host(host)}:{port}"
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            free = next_free_port(host, port)
            hint = f"; try --port {free}" if free is not None else ""
            raise ServeError(f"port {port} is already in use on {url_host(host)}{hint}") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"not allowed to listen on {shown} (ports below 1024 need "
                             "administrator rights; try --port 8000)") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise ServeError(f"cannot listen on {shown}: this machine has no such address") from None
        raise ServeError(f"cannot listen on {shown}: {visible(exc.strerror or str(exc), 100)}") from None
    return sock


def next_free_port(host: str, port: int, tries: int = 50) -> int | None:
    """The first port after ``port`` that can be bound on ``host``, or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host.strip("[]"), candidate))
            except OSError:
                continue
            return candidate
    return None


def files_directory(given: str | None) -> Path:
    """The directory the served wizard may open session files from (default: the current one)."""
    folder = Path(os.path.expanduser(given)) if given else Path.cwd()
    if not folder.is_dir():
        raise ServeError(f"--files-dir {visible(str(folder), 200)} is not a directory")
    return folder.resolve()


def serve_web(host: str = "127.0.0.1", port: int = 8000, with_lab: bool = False, *,
              options: Iterable[str] = (), public_url: str | None = None,
              files_dir: str | None = None, log: Callable[[str], None] | None = None) -> int:
    """Serve the wizard over HTTP until Ctrl-C; returns the exit status.

    ``options`` are root options passed on to every served wizard (``--resolver``, ...). Raises
    :class:`ServeError` (one line) for anything that stops it from starting.
    """
    from aiohttp import web

    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    public = parse_public_url(public_url) if public_url is not None else None
    if is_unspecified(host) and public is None:
        raise ServeError(f"--host {host} listens on every address, so the address browsers use is "
                         "unknown: add --public-url http://THIS-MACHINE:PORT/")
    folder = files_directory(files_dir)
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    token = new_token()
    base = public or f"http://{url_host(host)}:{bound_port}"
    guard = guard_for(host, bound_port, token, public)
    os.environ[FILES_DIR_ENV] = str(folder)  # inherited by every served wizard
    command = serve_command(with_lab, list(options))
    server = _make_guarded_server()(command, guard, base, say)
    warning = no_auth_warning(host, bound_port, public)
    if warning:
        say(warning)
    say(f"mxwizard: each browser session runs: {visible(command, 300)}")
    say(f"mxwizard: serving the wizard at {page_url(base, token)}")
    say("mxwizard: open that address in a browser (add &fontsize=24 for a projector); anyone "
        f"with it can run the wizard. Files open from {visible(str(folder), 200)}; saves arrive "
        "as downloads. Ctrl-C stops.")
    web.run_app(server._make_app(), sock=sock, print=None, access_log=None, handle_signals=True)
    return 0
