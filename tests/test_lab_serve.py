"""`mxwizard lab serve` as a user runs it, queried with real clients: dig and swaks."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.skipif(
    not (shutil.which("dig") and shutil.which("swaks")),
    reason="needs dig (bind9-dnsutils) and swaks; .ci/run installs them",
)


@dataclass
class ServedLab:
    process: subprocess.Popen[str]
    dns_port: int
    smtp_port: int
    banner: str
    ready_seconds: float


def _free_port() -> int:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = int(tcp.getsockname()[1])
        udp.bind(("127.0.0.1", port))
        return port


@pytest.fixture(scope="module")
def served_lab() -> Iterator[ServedLab]:
    dns_port, smtp_port = _free_port(), _free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "mxwizard", "lab", "serve", "--dns-port", str(dns_port),
         "--smtp-port", str(smtp_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    banner: list[str] = []
    for line in process.stdout:
        banner.append(line)
        if "Ctrl-C stops the lab" in line:
            break
    ready = time.monotonic() - started
    yield ServedLab(process, dns_port, smtp_port, "".join(banner), ready)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def dig(lab: ServedLab, *args: str) -> str:
    done = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(lab.dns_port), "+tries=1", "+time=3", *args],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def swaks(lab: ServedLab, server: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["swaks", "--server", f"{server}:{lab.smtp_port}", "--timeout", "10", *args],
        capture_output=True, text=True, timeout=60,
    )


def test_banner_says_where_everything_listens(served_lab: ServedLab) -> None:
    print(f"lab ready after {served_lab.ready_seconds:.2f} s")
    assert f"DNS on 127.0.0.1:{served_lab.dns_port}" in served_lab.banner
    assert f"dig @127.0.0.1 -p {served_lab.dns_port} MX healthy.test" in served_lab.banner
    assert f"swaks --server 127.0.2.1:{served_lab.smtp_port}" in served_lab.banner
    assert re.search(r"HTTPS on 127\.0\.6\.200:\d+, the MTA-STS policy web server", served_lab.banner)


def test_dig_mx_a_ptr_txt(served_lab: ServedLab) -> None:
    mx = dig(served_lab, "MX", "healthy.test")
    assert "status: NOERROR" in mx
    assert re.search(r"healthy\.test\.\s+\d+\s+IN\s+MX\s+10 mx1\.healthy\.test\.", mx)
    a_record = dig(served_lab, "A", "mx1.healthy.test")
    assert re.search(r"mx1\.healthy\.test\.\s+\d+\s+IN\s+A\s+127\.0\.2\.1", a_record)
    assert "PTR\tmx1.healthy.test." in dig(served_lab, "-x", "127.0.2.1")
    assert '"v=spf1 mx -all"' in dig(served_lab, "TXT", "healthy.test")


def test_dig_nxdomain_and_nodata(served_lab: ServedLab) -> None:
    missing = dig(served_lab, "MX", "doesnotexist.test")
    assert "status: NXDOMAIN" in missing and "SOA" in missing
    nodata = dig(served_lab, "MX", "nomx.test")
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata and "SOA" in nodata


def test_dig_blocklist_follows_rfc5782(served_lab: ServedLab) -> None:
    assert "127.0.0.2" in dig(served_lab, "+short", "A", "2.0.0.127.dnsbl.lab.test")
    assert "status: NXDOMAIN" in dig(served_lab, "A", "1.0.0.127.dnsbl.lab.test")


def test_swaks_delivers_to_a_lab_domain(served_lab: ServedLab) -> None:
    done = swaks(served_lab, "127.0.2.1", "--to", "postmaster@healthy.test",
                 "--from", "alice@home.test", "--helo", "mail.home.test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"<-  250 2\.0\.0 Ok: queued", done.stdout), done.stdout
    assert "<-  221" in done.stdout


def test_swaks_relay_refused_by_a_healthy_host(served_lab: ServedLab) -> None:
    done = swaks(served_lab, "127.0.2.1", "--to", "victim@example.com",
                 "--from", "spammer@example.org", "--quit-after", "RCPT")
    assert done.returncode != 0
    assert "554 5.7.1" in done.stdout and "Relay access denied" in done.stdout


def test_swaks_relay_accepted_by_the_open_relay(served_lab: ServedLab) -> None:
    done = swaks(served_lab, "127.0.2.20", "--to", "victim@example.com",
                 "--from", "spammer@example.org", "--quit-after", "RCPT")
    assert done.returncode == 0, done.stdout
    assert re.search(r"RCPT TO:<victim@example\.com>\s*\n<.\s+250", done.stdout)


def test_the_lab_binds_only_loopback(served_lab: ServedLab) -> None:
    pid = served_lab.process.pid
    sockets = {f"socket:[{os.stat(f'/proc/{pid}/fd/{fd}').st_ino}]"
               for fd in os.listdir(f"/proc/{pid}/fd")
               if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")}
    inodes = {s[8:-1] for s in sockets}
    bound = []
    for table in ("tcp", "udp", "tcp6", "udp6"):
        with open(f"/proc/net/{table}") as f:
            for row in f.readlines()[1:]:
                cols = row.split()
                if cols[9] in inodes:
                    bound.append((table, cols[1]))
    assert bound, "the lab should have listening sockets"
    for table, local in bound:
        assert not table.endswith("6"), f"IPv6 socket bound: {local}"
        ip_hex = local.split(":")[0]
        first_octet = int(ip_hex[6:8], 16)  # /proc/net stores IPv4 little-endian
        assert first_octet == 127, f"{table} socket bound outside 127.0.0.0/8: {local}"


def test_the_check_command_it_prints_works_as_printed(served_lab: ServedLab) -> None:
    """The banner's own 'point the wizard at it' command, run word for word."""
    line = next(ln for ln in served_lab.banner.splitlines() if "mxwizard check receive" in ln)
    words = line.split()
    done = subprocess.run([sys.executable, "-m", "mxwizard", *words[1:], "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    report = json.loads(done.stdout)
    ids = [f["id"] for f in report["findings"]]
    assert "smtp.accepts" in ids and "mx.private-address" not in ids, ids
    assert done.returncode == 0


def test_a_taken_port_is_one_line_naming_it_and_the_option() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "mxwizard", "lab", "serve", "--dns-port", str(port),
             "--smtp-port", str(_free_port())], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert f"port {port}" in line and "--dns-port" in line


def test_ctrl_c_stops_it_cleanly(served_lab: ServedLab) -> None:
    served_lab.process.send_signal(signal.SIGINT)
    out, err = served_lab.process.communicate(timeout=15)
    assert served_lab.process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err
