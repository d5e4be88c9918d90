"""Hostile inputs and a measured run of the real command, for tests/test_bounds_inputs.py.

The bounds tests attack ``mxwizard`` the way the red team did and check that it ends in time and
memory. Each run is a child process (``python -m mxwizard``), measured from the outside: wall
clock from start to exit, and the child's peak resident memory as the kernel counted it
(``wait4``), never a micro-timing inside the process.

Also runnable by hand, to measure another tree (the BEFORE numbers)::

    PYTHONPATH=/tmp/old/src python tests/bounds_support.py message big.eml --mb 23 --signatures 8
    python tests/bounds_support.py measure --src /tmp/old/src -- check send ... --lab
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import functools
import hashlib
import os
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dkim
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from aiosmtpd.smtp import SMTP, Envelope

import early

#: How long a measured run may take before it is killed (the attacks before the fix ran for
#: minutes; after it, every run ends within its step budgets).
HARD_LIMIT_SECONDS = 120.0


@dataclass(frozen=True)
class Run:
    """One finished (or killed) run of ``mxwizard``."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    killed: bool = False


def _early_name(args: Sequence[str]) -> str:
    return "run-" + hashlib.sha256("\0".join(args).encode()).hexdigest()[:16]


def _early_job(args: Sequence[str]) -> early.Job:
    return lambda stop: dataclasses.asdict(_run(list(args), None, HARD_LIMIT_SECONDS, stop))


def start_early(*runs: Sequence[str]) -> None:
    """Start these runs now, in the background, once per test run (tests/early.py);
    ``run_mxwizard`` with the same arguments then takes the result instead of starting its own.
    For runs that mostly wait (a budget that runs out by design): the suite goes on meanwhile,
    and each run is still measured from outside, on its own clock. tests/conftest.py calls a
    module's ``start_early`` when the session starts."""
    for args in runs:
        early.start(_early_name(args), _early_job(args))


def run_mxwizard(args: Sequence[str], *, src: str | None = None,
                 hard_limit: float = HARD_LIMIT_SECONDS) -> Run:
    """Run ``python -m mxwizard ARGS`` in a child process, killed after ``hard_limit`` seconds.

    ``src`` puts another source tree first on the child's path (to measure committed code).
    Output goes to temporary files, so a child that prints a lot cannot block on a full pipe.
    A run started early with the same arguments (:func:`start_early`) is taken instead, once.
    """
    if src is None and hard_limit == HARD_LIMIT_SECONDS:
        taken = early.take(_early_name(args), HARD_LIMIT_SECONDS + 30)
        if taken is not None:
            return Run(**taken)
    return _run(args, src, hard_limit, None)


def _run(args: Sequence[str], src: str | None, hard_limit: float,
         stop: threading.Event | None) -> Run:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("NO_COLOR", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "mxwizard", *args], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err, env=env, start_new_session=True)
        killed = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > hard_limit or (stop is not None and stop.is_set()):
                os.killpg(child.pid, signal.SIGKILL)
                killed = True
                _pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(child.returncode, out.read().decode("utf-8", "replace"),
                   err.read().decode("utf-8", "replace"), seconds, usage.ru_maxrss / 1024, killed)


# --- a big message carrying many DKIM signatures ------------------------------------------------

def write_signed_message(path: Path, *, body_mb: float, signatures: Sequence[tuple[str, str]],
                         line: bytes = b"a") -> None:
    """Write a message of about ``body_mb`` MB of short body lines, with one DKIM signature per
    (domain, selector), each made with the lab's key over the real body hash (so a signature
    for ``mail`` at home.test or dkimbomb.test verifies) — written in pieces, never whole in
    memory twice."""
    from mxwizard.lab.keys import LAB_DKIM_PRIVATE_KEY

    lines = max(1, int(body_mb * 1024 * 1024) // (len(line) + 2))
    chunk = (line + b"\r\n") * 65536
    whole, rest = divmod(lines, 65536)
    digest = hashlib.sha256()  # simple body canonicalization: the body as is (no trailing blanks)
    for _ in range(whole):
        digest.update(chunk)
    digest.update((line + b"\r\n") * rest)
    body_hash = base64.b64encode(digest.digest())
    head = (b"From: Alice <alice@home.test>\r\nTo: bob@strict.test\r\n"
            b"Subject: a big message\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            b"Message-ID: <big@home.test>\r\n")
    headers: list[bytes] = []
    for domain, selector in signatures:
        signer = dkim.DKIM(head + b"\r\n")
        signer.hasher = hashlib.sha256
        fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"simple/simple"),
                  (b"d", domain.encode()), (b"s", selector.encode()),
                  (b"h", b"from : to : subject : date"), (b"bh", body_hash), (b"b", b"0" * 60)]
        policy = dkim.CanonicalizationPolicy.from_c_value(b"simple/simple")
        value = signer.gen_header(fields, (b"from", b"to", b"subject", b"date"), policy,
                                  b"DKIM-Signature",
                                  dkim.parse_pem_private_key(LAB_DKIM_PRIVATE_KEY.encode()))
        headers.append(b"DKIM-Signature: " + value)
    with path.open("wb") as handle:
        handle.writelines(headers)
        handle.write(head + b"\r\n")
        for _ in range(whole):
            handle.write(chunk)
        handle.write((line + b"\r\n") * rest)


def write_backtracking_message(path: Path, spaces: int = 100_000) -> None:
    """A message whose DKIM-Signature has ``b=A``, a long run of spaces and ``!``: dkimpy's check
    of b= is a regex that backtracks quadratically on it (about a minute for 100,000 spaces)."""
    path.write_bytes(
        b"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=home.test; s=mail; h=from;"
        b" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=A" + b" " * spaces + b"!\r\n"
        b"From: alice@home.test\r\nTo: bob@strict.test\r\nSubject: x\r\n\r\nhello\r\n")


# --- a DNS server that floods answers with records --------------------------------------------

#: The flood: A records of names nobody asked for, in one answer (the red team's count).
FLOOD_RECORDS = 3250


def _flood_answer(query: dns.message.Message) -> dns.message.Message:
    """The hostile server's answer: ``flood.test`` has one MX, ``mx.flood.test`` one A record
    of its own plus 3,250 of 50 unrelated names; ``mx.same.test`` (MX of ``same.test``) has
    3,250 A records of its own; ``mx.badcert.test`` is 127.0.0.1, where the SMTP server with
    the malformed certificate listens. Anything else does not exist, except the root's NS."""
    response = dns.message.make_response(query)
    question = query.question[0]
    name, rdtype = question.name.to_text().lower(), question.rdtype
    response.answer.extend(_flood_records(name, rdtype))
    if name.rstrip(".") not in _FLOOD_NAMES and (name, rdtype) != (".", dns.rdatatype.NS):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response


#: The names the flooding server knows (others do not exist).
_FLOOD_NAMES = {"flood.test", "mx.flood.test", "same.test", "mx.same.test", "badcert.test",
                "mx.badcert.test"}


@functools.cache
def _flood_records(name: str, rdtype: int) -> tuple[dns.rrset.RRset, ...]:
    """The answer's records for one question, built once (:func:`hostile_net` builds the big
    ones before it starts): the server is there to flood the client, and one that spends a second
    of Python on 3,250 records per answer would, on a loaded machine, be testing itself."""
    ttl = 300
    rrsets: list[dns.rrset.RRset] = []

    def add(owner: str, kind: str, *values: str) -> None:
        rrsets.append(dns.rrset.from_text_list(owner, ttl, "IN", kind, list(values)))

    if name == "." and rdtype == dns.rdatatype.NS:
        add(".", "NS", "ns.flood.test.")
    elif name in {"flood.test.", "same.test.", "badcert.test."} and rdtype == dns.rdatatype.MX:
        add(name, "MX", f"10 mx.{name}")
    elif name == "mx.badcert.test." and rdtype == dns.rdatatype.A:
        add(name, "A", "127.0.0.1")
    elif name == "mx.flood.test." and rdtype == dns.rdatatype.A:
        add(name, "A", "127.0.0.1")
        for n in range(50):
            add(f"u{n}.elsewhere.test.", "A",
                *(f"127.9.{n}.{i}" for i in range(FLOOD_RECORDS // 50)))
    elif name == "mx.same.test." and rdtype == dns.rdatatype.A:
        add(name, "A", *(f"127.{8 + i // 65025}.{i // 255 % 255}.{i % 255 + 1}"
                         for i in range(FLOOD_RECORDS)))
    return tuple(rrsets)  # empty: NODATA for a known name, NXDOMAIN otherwise (above)


#: Answers as sent, by (the query without its ID, the size limit): the same question gets the
#: same bytes at once (only the ID differs), as from a real server's cache.
_WIRES: dict[tuple[bytes, int], bytes] = {}


def _flood_wire(data: bytes, max_size: int) -> bytes:
    key = (data[2:], max_size)
    wire = _WIRES.get(key)
    if wire is None:
        answer = _flood_answer(dns.message.from_wire(data))
        wire = _WIRES[key] = answer.to_wire(max_size=max_size, prefer_truncation=max_size == 512)
    return data[:2] + wire[2:]


class _Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            wire = _flood_wire(data, 512)
        except Exception:
            return
        self.transport.sendto(wire, addr)


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            wire = _flood_wire(await reader.readexactly(size), 65535)
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, Exception):
        pass
    finally:
        writer.close()


def _bad_certificate(directory: Path) -> ssl.SSLContext:
    """A server context whose certificate has a negative serial number (RFC 5280 forbids it;
    cryptography parses it with a CryptographyDeprecationWarning that names its install path)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx.badcert.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(0x7F1234)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    serial = bytes([0x02, 0x03, 0x7F, 0x12, 0x34])
    der = der.replace(serial, bytes([0x02, 0x03, 0xFF, 0x12, 0x34]), 1)  # the serial turns negative
    (directory / "cert.pem").write_text(ssl.DER_cert_to_PEM_cert(der))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


class _AcceptAll:
    """aiosmtpd handler: every recipient is accepted (the check stops before DATA anyway)."""

    async def handle_RCPT(self, server: object, session: object, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass(frozen=True)
class HostileNet:
    """Where the hostile DNS server and the bad-certificate SMTP server listen (127.0.0.1)."""

    dns_port: int
    smtp_port: int


@contextmanager
def hostile_net(host: str = "127.0.0.1") -> Iterator[HostileNet]:
    """Run the flooding DNS server (UDP and TCP) and the SMTP server with the malformed
    certificate on free loopback ports, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    ports: list[int] = []
    for name in ("mx.flood.test.", "mx.same.test."):  # the big answers, made before any question
        for dnssec in (False, True):  # asked as mxwizard's client asks (probes/dns.py); a question
            query = dns.message.make_query(name, "A", want_dnssec=dnssec)  # asked otherwise is
            query.flags |= dns.flags.RD | dns.flags.AD  # answered too, made when it comes
            for size in (512, 65535):
                _flood_wire(query.to_wire(), size)
    with tempfile.TemporaryDirectory() as directory:
        context = _bad_certificate(Path(directory))

        async def start() -> None:
            server = await asyncio.start_server(_tcp, host, 0)
            dns_port = server.sockets[0].getsockname()[1]
            await loop.create_datagram_endpoint(_Udp, local_addr=(host, dns_port))
            smtp = await loop.create_server(
                lambda: SMTP(_AcceptAll(), hostname="mx.badcert.test", ident="ESMTP",
                             tls_context=context), host, 0)
            ports.extend((dns_port, smtp.sockets[0].getsockname()[1]))
            ready.set()

        thread = threading.Thread(
            target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
        thread.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the hostile DNS and SMTP servers did not start within 60 s")
            yield HostileNet(*ports)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    message = sub.add_parser("message", help="write a big signed message")
    message.add_argument("path", type=Path)
    message.add_argument("--mb", type=float, default=23)
    message.add_argument("--signatures", type=int, default=8)
    message.add_argument("--domain", default="home.test")
    message.add_argument("--selector", default="mail")
    message.add_argument("--backtracking", action="store_true",
                         help="write the message whose b= makes dkimpy's regex backtrack")
    measure = sub.add_parser("measure", help="run mxwizard and print time and peak memory")
    measure.add_argument("--src")
    measure.add_argument("--flood", action="store_true",
                         help="start the hostile servers; {port} in the args is the DNS port, "
                              "{smtp} the SMTP port")
    measure.add_argument("args", nargs=argparse.REMAINDER)
    given = parser.parse_args()
    if given.what == "message" and given.backtracking:
        write_backtracking_message(given.path)
        return 0
    if given.what == "message":
        write_signed_message(given.path, body_mb=given.mb,
                             signatures=[(given.domain, given.selector)] * given.signatures)
        return 0
    args = [a for a in given.args if a != "--"]

    def report(run: Run) -> None:
        print(f"exit {run.code}{' (killed)' if run.killed else ''}  {run.seconds:.1f} s  "
              f"peak {run.peak_mb:.0f} MB")
        print(run.stderr[-2000:], file=sys.stderr)

    if given.flood:
        with hostile_net() as net:
            report(run_mxwizard([a.replace("{port}", str(net.dns_port))
                                 .replace("{smtp}", str(net.smtp_port)) for a in args],
                                src=given.src))
    else:
        report(run_mxwizard(args, src=given.src))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
