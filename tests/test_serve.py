"""``mxwizard serve``: only the printed secret URL starts a wizard. The server runs as a real
subprocess on loopback and is driven by aiohttp's real HTTP and websocket client: a wrong Origin,
a missing or wrong token and a foreign Host header (DNS rebinding) are refused with 403 before any
wizard process starts; the right token from the right page starts one, which sends its screen. A
taken port is one line and exit 2; an IPv6 address is bracketed in the URL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from mxwizard.ui.web import Guard, ServeError, guard_for, no_auth_warning, parse_public_url

URL_LINE = re.compile(r"serving the wizard at (http://\S+)/\?token=([A-Za-z0-9_-]+)")


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running ``mxwizard serve`` subprocess and what it printed."""

    process: subprocess.Popen[str]
    base: str = ""
    token: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    @property
    def origin(self) -> str:
        return self.base

    def children(self) -> list[int]:
        """The processes the server started (one per wizard), from /proc."""
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def wait_for_line(self, pattern: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines}")


def start(*args: str, cwd: Path) -> Served:
    process = subprocess.Popen([sys.executable, "-m", "mxwizard", *args], cwd=cwd, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    served = Served(process)

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            served.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return served


def stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGINT)
        try:
            served.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait(timeout=15)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``mxwizard serve --lab`` on a free loopback port, with its URL and token read off stderr."""
    server = start("serve", "--lab", "--port", str(free_port()), cwd=tmp_path)
    try:
        found = URL_LINE.search(server.wait_for_line(URL_LINE.pattern))
        assert found is not None
        server.base, server.token = found[1], found[2]
        yield server
    finally:
        stop(server)


async def handshake(url: str, headers: dict[str, str]) -> int:
    """The status of a websocket handshake (101 when accepted, then closed at once)."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers or {}) as response:
        return response.status, await response.text()


def test_the_page_needs_the_token_and_carries_it_to_the_websocket(served: Served) -> None:
    assert asyncio.run(get(f"{served.base}/"))[0] == 403
    assert asyncio.run(get(f"{served.base}/?token=guessed"))[0] == 403
    status, page = asyncio.run(get(f"{served.base}/?token={served.token}&fontsize=500"))
    assert status == 200
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws/{served.token}"' in page
    assert 'data-font-size="72"' in page  # projector sizes are bounded
    assert served.children() == []  # a page is not a wizard


def test_another_origin_is_refused_before_any_wizard_starts(served: Served) -> None:
    url = f"{served.base}/ws/{served.token}"
    for origin in ("http://evil.example", f"http://127.0.0.1:{served.port + 1}", "null"):
        assert asyncio.run(handshake(url, {"Origin": origin})) == 403, origin
    assert asyncio.run(handshake(url, {})) == 403  # no Origin at all
    served.wait_for_line("refused GET /ws/… from 127.0.0.1: Origin http://evil.example is not")
    assert served.children() == []


def test_a_missing_or_wrong_token_is_refused(served: Served) -> None:
    origin = {"Origin": served.origin}
    assert asyncio.run(handshake(f"{served.base}/ws/{served.token}x", origin)) == 403
    assert asyncio.run(handshake(f"{served.base}/ws/guessed", origin)) == 403
    assert asyncio.run(handshake(f"{served.base}/ws", origin)) == 404  # textual-serve's own route
    assert served.children() == []


def test_a_foreign_host_header_is_refused(served: Served) -> None:
    """DNS rebinding: evil.example now resolves to 127.0.0.1, and its page knows the path."""
    rebound = {"Host": f"evil.example:{served.port}", "Origin": f"http://evil.example:{served.port}"}
    assert asyncio.run(handshake(f"{served.base}/ws/{served.token}", rebound)) == 403
    status, text = asyncio.run(get(f"{served.base}/?token={served.token}", {"Host": rebound["Host"]}))
    assert status == 403 and "is not this server" in text
    assert served.children() == []


def test_the_right_token_from_the_right_page_starts_the_wizard(served: Served) -> None:
    async def session() -> int:
        received = 0
        async with aiohttp.ClientSession() as client, client.ws_connect(
                f"{served.base}/ws/{served.token}?width=80&height=24",
                headers={"Origin": served.origin}) as websocket:
            await websocket.send_json(["resize", {"width": 80, "height": 24}])
            async for message in websocket:
                if message.type == aiohttp.WSMsgType.BINARY:
                    received += len(message.data)
                if received > 2000:  # the welcome screen is arriving
                    break
            assert served.children() != []  # a wizard runs for this websocket
        return received

    assert asyncio.run(asyncio.wait_for(session(), 90)) > 2000
    served.wait_for_line("a browser session started from 127.0.0.1")
    # localhost names the same server
    assert asyncio.run(get(f"http://localhost:{served.port}/?token={served.token}"))[0] == 200


def test_root_options_pass_on_to_the_served_wizard(tmp_path: Path) -> None:
    server = start("--timeout", "5", "--resolver", "127.0.0.1:5353", "--private-network", "serve",
                   "--port", str(free_port()), cwd=tmp_path)
    try:
        line = server.wait_for_line("each browser session runs:")
    finally:
        stop(server)
    assert "-m mxwizard" in line and "--timeout 5.0" in line
    assert "--resolver 127.0.0.1:5353" in line and "--private-network" in line


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "mxwizard", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"mxwizard: error: port {port} is already in use on 127.0.0.1")
    assert re.search(r"try --port \d+$", lines[0]) and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, reason", [
    (("--host", "0.0.0.0"), "add --public-url"),
    (("--public-url", "ftp://class.example"), "must start with http:// or https://"),
    (("--public-url", "http://class.example/wizard"), "must be only scheme, host and port"),
    (("--files-dir", "/nonexistent/dir"), "is not a directory"),
])
def test_bad_serve_options_are_one_line_and_exit_2(args: tuple[str, ...], reason: str,
                                                   tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mxwizard", "serve", *args, "--port",
                           str(free_port())], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and reason in done.stderr, done.stderr


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        free_port("::1")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no ::1 on this machine")
def test_an_ipv6_host_is_bracketed_in_the_url(tmp_path: Path) -> None:
    port = free_port("::1")
    server = start("serve", "--host", "::1", "--port", str(port), cwd=tmp_path)
    try:
        line = server.wait_for_line("serving the wizard at")
    finally:
        stop(server)
    assert f"serving the wizard at http://[::1]:{port}/?token=" in line
    assert not any("warning" in printed for printed in server.lines)  # ::1 is loopback


def test_the_guard_rules_for_ipv6_and_a_public_url() -> None:
    guard = guard_for("::1", 8000, "t0ken")
    assert guard.host_problem("[::1]:8000") is None and guard.host_problem("localhost:8000") is None
    assert guard.host_problem("[::1]:8001") is not None and guard.host_problem(None) is not None
    assert guard.websocket_problem("http://[::1]:8000", "t0ken") is None
    assert guard.websocket_problem("http://[::1]:8000", "t0ke") == "wrong or missing token"
    public = guard_for("0.0.0.0", 8000, "t0ken", parse_public_url("https://Class.Example/"))
    assert isinstance(public, Guard)
    assert public.host_problem("class.example") is None and public.host_problem("class.example:443") is None
    assert public.host_problem("0.0.0.0:8000") is not None
    assert public.websocket_problem("https://class.example", "t0ken") is None
    assert public.websocket_problem("http://class.example", "t0ken") is not None
    assert parse_public_url("http://[2001:db8::1]:8080/") == "http://[2001:db8::1]:8080"
    with pytest.raises(ServeError):
        parse_public_url("http://user:pw@class.example/")


def test_serving_beyond_loopback_warns_that_the_token_is_the_only_lock() -> None:
    warning = no_auth_warning("192.0.2.1", 8000)
    assert warning is not None and "token" in warning and "unencrypted" in warning
    assert "unencrypted" not in (no_auth_warning("192.0.2.1", 8000, "https://class.example") or "")
    assert no_auth_warning("127.0.0.5", 8000) is None


def test_the_help_documents_the_projector_font_size() -> None:
    done = subprocess.run([sys.executable, "-m", "mxwizard", "serve", "--help"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0 and "fontsize=24" in done.stdout and "--public-url" in done.stdout


def test_in_the_browser_files_open_from_the_files_dir_and_saves_arrive_as_downloads(
        tmp_path: Path) -> None:
    """The served wizard opens a session by name from --files-dir, and its Save sends the file to
    the browser (a download) instead of writing on the server."""
    files = tmp_path / "files"
    files.mkdir()
    session = {"kind": "receive", "target": {"domain": "served.test"}, "transcripts": [
        {"host": "mx.served.test", "ip": "127.0.0.1", "port": 25, "lines": [
            {"t_ms": 0, "dir": "S", "text": "220 mx.served.test ESMTP"},
            {"t_ms": 1, "dir": "C", "text": "QUIT"}, {"t_ms": 2, "dir": "S", "text": "221 bye"}]}]}
    (files / "lesson.json").write_text(json.dumps(session))
    server = start("serve", "--port", str(free_port()), "--files-dir", str(files), cwd=tmp_path)
    try:
        found = URL_LINE.search(server.wait_for_line(URL_LINE.pattern))
        assert found is not None
        server.base, server.token = found[1], found[2]
        downloaded = asyncio.run(asyncio.wait_for(save_through_the_browser(server), 120))
    finally:
        stop(server)
    assert json.loads(downloaded)["target"] == {"domain": "served.test"}
    assert sorted(path.name for path in files.iterdir()) == ["lesson.json"]  # nothing written
    assert sorted(path.name for path in tmp_path.iterdir()) == ["files"]


async def save_through_the_browser(server: Served) -> str:
    """Drive the served wizard as the page would: Lessons, open lesson.json, s, Enter; then fetch
    the download it announces."""
    screen = bytearray()
    async with aiohttp.ClientSession() as client, client.ws_connect(
            f"{server.base}/ws/{server.token}?width=100&height=30",
            headers={"Origin": server.origin}) as websocket:

        async def until(*wanted: bytes) -> str | None:
            """Read the output until every piece of ``wanted`` has appeared since the last key
            (or a download is announced: its key is returned)."""
            async for message in websocket:
                if message.type == aiohttp.WSMsgType.BINARY:
                    screen.extend(message.data)
                elif message.type == aiohttp.WSMsgType.TEXT:
                    kind, value = json.loads(message.data)[:2]
                    if kind == "deliver_file_start":
                        return str(value)
                if all(piece in screen for piece in wanted):
                    return None
            raise AssertionError(f"the session ended before {wanted!r}")

        async def press(keys: str, *wanted: bytes) -> str | None:
            screen.clear()
            await websocket.send_json(["stdin", keys])
            return await until(*wanted)

        await websocket.send_json(["resize", {"width": 100, "height": 30}])
        await until(b"Lessons")
        await press("5", b"Replay a saved session")  # the Lessons screen has a replay button
        await press("o", b"File name, in")  # the dialog names the one directory it opens from
        await press("lesson.json\r", b"step by step")
        await press("s", b"File name for the download")
        key = await press("\r", b"\x00never")
        assert key is not None
        # the page opens the download while the wizard runs (it streams the file)
        async with client.get(f"{server.base}/download/{key}") as response:
            assert response.status == 200
            assert "mxwizard-session-receive-served.test.json" in response.headers["Content-Disposition"]
            return await response.text()
