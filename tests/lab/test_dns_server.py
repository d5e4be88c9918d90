"""The lab's DNS server, tested over real loopback sockets with dnspython and with the real ``dig``.

Each behaviour a diagnosis relies on is checked from the outside: the rcode, the flags, what is in
the answer and authority sections, truncation and the TCP retry, whoami per client address, and
the faults a trainer can switch on. ``dig`` runs as a subprocess on the same event loop as the
server (asyncio subprocesses), so the server keeps answering while dig waits.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import struct
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxwizard.lab.dns_server import Fault, LabDnsServer

HOST = "127.0.0.1"
BIG_A_COUNT = 100
BIG_TXT_COUNT = 30

HEALTHY = (
    """
$TTL 300
@           SOA   ns1 hostmaster 2024010101 3600 600 86400 60
@           NS    ns1
@           MX    10 mail
@           TXT   "v=spf1 mx -all"
ns1         A     127.0.0.53
mail        A     127.0.1.10
www         CNAME mail
alias       CNAME www
loop-a      CNAME loop-b
loop-b      CNAME loop-a
leaves      CNAME elsewhere.example.
dangling    CNAME gone
tosub       CNAME sub
a.b.deep    A     127.0.3.1
slow        A     127.0.5.1
"""
    + "".join(f"big A 127.0.2.{i}\n" for i in range(1, BIG_A_COUNT + 1))
    + "".join(f'bigtxt TXT "{i:03d} {"x" * 116}"\n' for i in range(BIG_TXT_COUNT))
)
SUB = """
$TTL 300
@   SOA  ns1.healthy.test. hostmaster.healthy.test. 1 3600 600 86400 30
@   NS   ns1.healthy.test.
@   A    127.0.4.1
"""
REVERSE = """
$TTL 300
@         SOA  ns1.healthy.test. hostmaster.healthy.test. 1 3600 600 86400 60
@         NS   ns1.healthy.test.
10.1.0    PTR  mail.healthy.test.
"""
DNSBL = """
$TTL 300
@           SOA  ns1.healthy.test. hostmaster.healthy.test. 1 3600 600 86400 60
@           NS   ns1.healthy.test.
2.0.0.127   A    127.0.0.2
2.0.0.127   TXT  "Listed in the lab blocklist: test entry (RFC 5782)"
"""
SLOW_SECONDS = 0.6
WHOAMI = {"127.0.0.5": "198.51.100.5", "127.0.0.6": "198.51.100.6"}


def lab_zones() -> list[dns.zone.Zone]:
    """The zones every test server serves."""
    return [
        dns.zone.from_text(HEALTHY, origin="healthy.test."),
        dns.zone.from_text(SUB, origin="sub.healthy.test."),
        dns.zone.from_text(REVERSE, origin="127.in-addr.arpa."),
        dns.zone.from_text(DNSBL, origin="dnsbl.lab.test.", relativize=False),
    ]


FAULTS = {
    "broken.healthy.test": (Fault.SERVFAIL, 0.0),
    "blackhole.healthy.test": (Fault.DROP, 0.0),
    "slow.healthy.test": (Fault.SLOW, SLOW_SECONDS),
}


@pytest.fixture
async def server() -> AsyncIterator[LabDnsServer]:
    lab = LabDnsServer(lab_zones(), faults=FAULTS, whoami=WHOAMI)
    await lab.start(HOST, 0)
    yield lab
    await lab.close()


async def ask(lab: LabDnsServer, name: str, rdtype: str, *, source: str | None = None,
              payload: int | None = None, tcp: bool = False, timeout: float = 3.0) -> dns.message.Message:
    """One query to the lab with dnspython; ``payload`` turns EDNS on with that UDP size."""
    query = dns.message.make_query(name, rdtype, use_edns=0 if payload else None, payload=payload or 1232)
    assert lab.port is not None
    if tcp:
        return await dns.asyncquery.tcp(query, HOST, port=lab.port, timeout=timeout, source=source)
    return await dns.asyncquery.udp(query, HOST, port=lab.port, timeout=timeout, source=source)


def texts(message: dns.message.Message, section: str = "answer") -> list[str]:
    """Every record of a section as 'name TYPE data'."""
    return [f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}"
            for rrset in getattr(message, section) for rd in rrset]


async def dig(lab: LabDnsServer, *args: str) -> tuple[int, str]:
    """Run the real dig against the lab and return its exit status and output."""
    process = await asyncio.create_subprocess_exec(
        "dig", f"@{HOST}", "-p", str(lab.port), "+tries=1", "+time=2", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def raw_udp(lab: LabDnsServer, payload: bytes, timeout: float = 1.0) -> bytes | None:
    """Send arbitrary bytes to the lab over UDP; the reply, or None if nothing came back in time."""
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if not reply.done():
                reply.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(HOST, lab.port))
    try:
        transport.sendto(payload)
        return await asyncio.wait_for(reply, timeout)
    except asyncio.TimeoutError:
        return None
    finally:
        transport.close()


def header(qid: int, *, opcode: int = 0, qr: bool = False, qdcount: int = 1) -> bytes:
    flags = (0x8000 if qr else 0) | (opcode << 11) | 0x0100
    return struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, 0)


def reply_rcode(wire: bytes) -> int:
    return struct.unpack_from("!H", wire, 2)[0] & 0xF


# ---------------------------------------------------------------- answers with dnspython


async def test_mx_answer_is_authoritative_and_claims_recursion(server: LabDnsServer) -> None:
    reply = await ask(server, "healthy.test", "MX")
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA and reply.flags & dns.flags.RA and reply.flags & dns.flags.QR
    assert texts(reply) == ["healthy.test. MX 10 mail.healthy.test."]
    assert reply.question[0].name == dns.name.from_text("healthy.test.")


async def test_a_txt_and_ptr(server: LabDnsServer) -> None:
    mixed_case = await ask(server, "MAIL.Healthy.TEST", "A")
    assert [t.lower() for t in texts(mixed_case)] == ["mail.healthy.test. a 127.0.1.10"]
    assert texts(await ask(server, "healthy.test", "TXT")) == ['healthy.test. TXT "v=spf1 mx -all"']
    ptr = await ask(server, "10.1.0.127.in-addr.arpa", "PTR")
    assert texts(ptr) == ["10.1.0.127.in-addr.arpa. PTR mail.healthy.test."]


async def test_nxdomain_carries_the_soa_with_the_negative_ttl(server: LabDnsServer) -> None:
    reply = await ask(server, "nope.healthy.test", "A")
    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert reply.answer == []
    assert [rrset.rdtype for rrset in reply.authority] == [dns.rdatatype.SOA]
    assert reply.authority[0].ttl == 60  # min(TTL 300, SOA minimum 60), RFC 2308


@pytest.mark.parametrize("name", ["mail.healthy.test", "deep.healthy.test", "b.deep.healthy.test"])
async def test_nodata_and_empty_non_terminals(server: LabDnsServer, name: str) -> None:
    reply = await ask(server, name, "AAAA")
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.answer == []
    assert texts(reply, "authority")[0].startswith("healthy.test. SOA ns1.healthy.test.")


async def test_names_outside_every_zone_are_refused(server: LabDnsServer) -> None:
    for name in ["example.com", "test", "lab.test"]:
        reply = await ask(server, name, "A")
        assert reply.rcode() == dns.rcode.REFUSED, name
        assert not reply.flags & dns.flags.AA


async def test_longest_matching_zone_wins(server: LabDnsServer) -> None:
    reply = await ask(server, "sub.healthy.test", "SOA")
    assert texts(reply)[0].startswith("sub.healthy.test. SOA")
    missing = await ask(server, "x.sub.healthy.test", "A")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert missing.authority[0].name == dns.name.from_text("sub.healthy.test.")


async def test_cname_chain_is_followed_across_zones(server: LabDnsServer) -> None:
    assert texts(await ask(server, "alias.healthy.test", "A")) == [
        "alias.healthy.test. CNAME www.healthy.test.",
        "www.healthy.test. CNAME mail.healthy.test.",
        "mail.healthy.test. A 127.0.1.10",
    ]
    assert texts(await ask(server, "tosub.healthy.test", "A")) == [
        "tosub.healthy.test. CNAME sub.healthy.test.",
        "sub.healthy.test. A 127.0.4.1",
    ]
    only_cname = await ask(server, "www.healthy.test", "CNAME")
    assert texts(only_cname) == ["www.healthy.test. CNAME mail.healthy.test."]


async def test_cname_loops_and_dead_ends_terminate(server: LabDnsServer) -> None:
    loop = await ask(server, "loop-a.healthy.test", "A")
    assert loop.rcode() == dns.rcode.NOERROR
    assert texts(loop) == ["loop-a.healthy.test. CNAME loop-b.healthy.test.",
                           "loop-b.healthy.test. CNAME loop-a.healthy.test."]
    raw = await raw_udp(server, dns.message.make_query("loop-a.healthy.test", "A").to_wire())
    assert raw is not None and struct.unpack_from("!H", raw, 6)[0] == 2  # each link once, no repeats
    outside = await ask(server, "leaves.healthy.test", "A")
    assert (outside.rcode(), texts(outside)) == (dns.rcode.NOERROR,
                                                 ["leaves.healthy.test. CNAME elsewhere.example."])
    dangling = await ask(server, "dangling.healthy.test", "A")
    assert dangling.rcode() == dns.rcode.NXDOMAIN  # the rcode speaks for the end of the chain
    assert texts(dangling) == ["dangling.healthy.test. CNAME gone.healthy.test."]


async def test_a_long_chain_stops_after_the_limit() -> None:
    links = "".join(f"c{i} CNAME c{i + 1}\n" for i in range(30))
    zone = dns.zone.from_text("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\n" + links,
                              origin="chain.test.")
    lab = LabDnsServer([zone])
    await lab.start()
    try:
        reply = await ask(lab, "c0.chain.test", "A")
        assert reply.rcode() == dns.rcode.NOERROR
        assert 5 <= len(reply.answer) <= 12
    finally:
        await lab.close()


async def test_large_answers_truncate_over_udp_and_are_complete_over_tcp(server: LabDnsServer) -> None:
    udp = await ask(server, "big.healthy.test", "A")
    assert udp.flags & dns.flags.TC
    assert len(texts(udp)) < BIG_A_COUNT
    tcp = await ask(server, "big.healthy.test", "A", tcp=True)
    assert not tcp.flags & dns.flags.TC
    assert len(texts(tcp)) == BIG_A_COUNT
    with_edns = await ask(server, "big.healthy.test", "A", payload=4096)
    assert not with_edns.flags & dns.flags.TC and len(texts(with_edns)) == BIG_A_COUNT
    assert with_edns.edns == 0
    txt = await ask(server, "bigtxt.healthy.test", "TXT", payload=1232)
    assert txt.flags & dns.flags.TC
    assert len(texts(await ask(server, "bigtxt.healthy.test", "TXT", tcp=True))) == BIG_TXT_COUNT


async def test_whoami_answers_each_client_its_configured_address(server: LabDnsServer) -> None:
    five = await ask(server, "myip.lab.test", "A", source="127.0.0.5")
    six = await ask(server, "myip.lab.test", "A", source="127.0.0.6")
    assert texts(five) == ["myip.lab.test. A 198.51.100.5"]
    assert texts(six) == ["myip.lab.test. A 198.51.100.6"]
    assert texts(await ask(server, "myip.lab.test", "TXT", source="127.0.0.6")) == [
        'myip.lab.test. TXT "198.51.100.6"']
    unknown = await ask(server, "myip.lab.test", "A", source="127.0.0.7")
    assert texts(unknown) == ["myip.lab.test. A 127.0.0.7"]  # not configured: its own address
    assert texts(await ask(server, "myip.lab.test", "A", source="127.0.0.5", tcp=True)) == [
        "myip.lab.test. A 198.51.100.5"]


async def test_whoami_default_and_custom_name() -> None:
    lab = LabDnsServer(lab_zones(), whoami_name="whoami.healthy.test", whoami_default="192.0.2.1")
    await lab.start()
    try:
        assert texts(await ask(lab, "whoami.healthy.test", "A")) == ["whoami.healthy.test. A 192.0.2.1"]
        nodata = await ask(lab, "whoami.healthy.test", "MX")
        assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == [] and nodata.authority
    finally:
        await lab.close()


async def test_servfail_fault_covers_the_name_and_below(server: LabDnsServer) -> None:
    for name in ["broken.healthy.test", "mx.broken.healthy.test"]:
        assert (await ask(server, name, "A")).rcode() == dns.rcode.SERVFAIL
    assert (await ask(server, "notbroken.healthy.test", "A")).rcode() == dns.rcode.NXDOMAIN


async def test_drop_fault_never_answers(server: LabDnsServer) -> None:
    for tcp in (False, True):
        with pytest.raises(dns.exception.Timeout):
            await ask(server, "a.blackhole.healthy.test", "A", timeout=0.5, tcp=tcp)
    assert (await ask(server, "mail.healthy.test", "A")).rcode() == dns.rcode.NOERROR


async def test_slow_fault_delays_only_its_names(server: LabDnsServer) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    slow = asyncio.create_task(ask(server, "slow.healthy.test", "A"))
    await asyncio.sleep(0.05)
    fast = await ask(server, "mail.healthy.test", "A")
    assert texts(fast) == ["mail.healthy.test. A 127.0.1.10"]
    assert not slow.done()  # the slow answer did not hold up the other name
    answer = await slow
    assert texts(answer) == ["slow.healthy.test. A 127.0.5.1"]
    assert loop.time() - started >= SLOW_SECONDS - 0.05


async def test_latency_delays_every_answer_without_serialising_them() -> None:
    lab = LabDnsServer(lab_zones(), latency_ms=1000, faults={"broken.healthy.test": (Fault.SERVFAIL, 0)})
    await lab.start()
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        replies = await asyncio.gather(
            ask(lab, "broken.healthy.test", "A", timeout=8),
            *(ask(lab, "mail.healthy.test", "A", timeout=8) for _ in range(9)),
        )
        elapsed = loop.time() - started
        assert replies[0].rcode() == dns.rcode.SERVFAIL
        assert all(texts(r) == ["mail.healthy.test. A 127.0.1.10"] for r in replies[1:])
        assert elapsed >= 0.95  # each answer waited for the latency, SERVFAIL included
        assert elapsed < 5.0  # ten answers one after another would take ten seconds
        assert lab.queries == 10
    finally:
        await lab.close()


async def test_dnsbl_style_zone(server: LabDnsServer) -> None:
    listed = await ask(server, "2.0.0.127.dnsbl.lab.test", "A")
    assert texts(listed) == ["2.0.0.127.dnsbl.lab.test. A 127.0.0.2"]
    reason = await ask(server, "2.0.0.127.dnsbl.lab.test", "TXT")
    assert "lab blocklist" in texts(reason)[0]
    assert (await ask(server, "1.0.0.127.dnsbl.lab.test", "A")).rcode() == dns.rcode.NXDOMAIN


# ---------------------------------------------------------------- hostile and odd input


async def test_malformed_packets_do_not_kill_the_server(server: LabDnsServer) -> None:
    assert await raw_udp(server, b"", timeout=0.3) is None
    assert await raw_udp(server, b"\x12\x34\x01", timeout=0.3) is None
    assert await raw_udp(server, header(7, qr=True), timeout=0.3) is None  # a response: ignored
    truncated = await raw_udp(server, header(8))  # promises a question, carries none
    assert truncated is not None and reply_rcode(truncated) == dns.rcode.FORMERR
    assert struct.unpack_from("!H", truncated)[0] == 8
    for count in (0, 2):
        question = dns.message.make_query("mail.healthy.test", "A").to_wire()[12:]
        reply = await raw_udp(server, header(9, qdcount=count) + question * count)
        assert reply is not None and reply_rcode(reply) == dns.rcode.FORMERR
    for opcode in (dns.opcode.NOTIFY, dns.opcode.UPDATE, dns.opcode.STATUS):
        reply = await raw_udp(server, header(10, opcode=opcode))
        assert reply is not None and reply_rcode(reply) == dns.rcode.NOTIMP
    rng = random.Random(5782)
    valid = dns.message.make_query("mail.healthy.test", "MX").to_wire()
    for _ in range(200):
        junk = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            junk[rng.randrange(len(junk))] = rng.randrange(256)
        await raw_udp(server, bytes(junk) + rng.randbytes(rng.randint(0, 20)), timeout=0.05)
    assert (await ask(server, "mail.healthy.test", "A")).rcode() == dns.rcode.NOERROR


async def test_edns_version_other_than_zero_gets_badvers(server: LabDnsServer) -> None:
    query = dns.message.make_query("mail.healthy.test", "A", use_edns=1)
    reply = await dns.asyncquery.udp(query, HOST, port=server.port, timeout=3)
    assert reply.rcode() == dns.rcode.BADVERS


HYPOTHESIS_LAB = LabDnsServer(lab_zones(), faults=FAULTS, whoami=WHOAMI)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_respond_never_raises_on_arbitrary_bytes(wire: bytes) -> None:
    reply = HYPOTHESIS_LAB.respond(wire, "127.0.0.9")
    if reply is not None:
        header_flags = struct.unpack_from("!H", reply[0], 2)[0]
        assert header_flags & 0x8000  # whatever it says, it says it as a response



async def test_tcp_carries_several_queries_per_connection(server: LabDnsServer) -> None:
    reader, writer = await asyncio.open_connection(HOST, server.port)
    try:
        ids = []
        for name in ["healthy.test", "mail.healthy.test", "big.healthy.test"]:
            query = dns.message.make_query(name, "A")
            ids.append(query.id)
            wire = query.to_wire()
            writer.write(len(wire).to_bytes(2, "big") + wire)
        for odd in (b"\xff" * 7, header(11)):  # too short to answer, then a question that is missing
            writer.write(len(odd).to_bytes(2, "big") + odd)
        last = dns.message.make_query("www.healthy.test", "CNAME")
        writer.write(len(last.to_wire()).to_bytes(2, "big") + last.to_wire())
        await writer.drain()
        replies = []
        for _ in range(5):
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 3), "big")
            replies.append(await asyncio.wait_for(reader.readexactly(size), 3))
        parsed = [dns.message.from_wire(r) for r in replies[:3]]
        assert [m.id for m in parsed] == ids
        assert len(parsed[2].answer[0]) == BIG_A_COUNT
        assert reply_rcode(replies[3]) == dns.rcode.FORMERR
        assert dns.message.from_wire(replies[4]).id == last.id
    finally:
        writer.close()


async def test_idle_tcp_connections_are_closed() -> None:
    lab = LabDnsServer(lab_zones(), tcp_idle_timeout=0.3, faults={"slow.healthy.test": (Fault.SLOW, 0.8)})
    await lab.start()
    try:
        # an answer still on its way keeps the connection open past the idle timeout
        slow = await ask(lab, "slow.healthy.test", "A", tcp=True)
        assert texts(slow) == ["slow.healthy.test. A 127.0.5.1"]
        reader, writer = await asyncio.open_connection(HOST, lab.port)
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        writer.close()
    finally:
        await lab.close()


async def test_close_with_answers_still_pending() -> None:
    lab = LabDnsServer(lab_zones(), latency_ms=5000)
    await lab.start()
    pending = asyncio.create_task(ask(lab, "mail.healthy.test", "A", timeout=1))
    await asyncio.sleep(0.1)
    await lab.close()
    with pytest.raises(dns.exception.Timeout):
        await pending
    assert lab.queries == 0


async def test_load_zones_replaces_the_answers(server: LabDnsServer) -> None:
    assert texts(await ask(server, "mail.healthy.test", "A")) == ["mail.healthy.test. A 127.0.1.10"]
    moved = HEALTHY.replace("mail        A     127.0.1.10", "mail        A     127.0.1.99")
    server.load_zones([dns.zone.from_text(moved, origin="healthy.test.")])
    assert texts(await ask(server, "mail.healthy.test", "A")) == ["mail.healthy.test. A 127.0.1.99"]
    assert (await ask(server, "10.1.0.127.in-addr.arpa", "PTR")).rcode() == dns.rcode.REFUSED


def test_bad_configuration_is_refused_early() -> None:
    with pytest.raises(ValueError):
        LabDnsServer(lab_zones(), whoami={"127.0.0.5": "not an address"})
    with pytest.raises(ValueError):
        LabDnsServer(lab_zones() + lab_zones()[:1])


async def test_many_queries_are_all_answered(server: LabDnsServer) -> None:
    names = ["healthy.test", "mail.healthy.test", "nope.healthy.test", "www.healthy.test"] * 50
    replies = await asyncio.gather(*(ask(server, name, "A", timeout=10) for name in names))
    assert len(replies) == 200 and server.queries >= 200


# ---------------------------------------------------------------- the real dig

needs_dig = pytest.mark.skipif(shutil.which("dig") is None, reason="dig is not installed")


@needs_dig
@pytest.mark.parametrize(("args", "status", "expected"), [
    (["MX", "healthy.test"], "NOERROR", "10 mail.healthy.test."),
    (["A", "mail.healthy.test"], "NOERROR", "IN\tA\t127.0.1.10"),
    (["-x", "127.0.1.10"], "NOERROR", "PTR\tmail.healthy.test."),
    (["TXT", "healthy.test"], "NOERROR", '"v=spf1 mx -all"'),
    (["A", "nope.healthy.test"], "NXDOMAIN", "AUTHORITY SECTION:\nhealthy.test.\t\t60\tIN\tSOA"),
    (["AAAA", "mail.healthy.test"], "NOERROR", "ANSWER: 0, AUTHORITY: 1"),
    (["A", "example.com"], "REFUSED", "ANSWER: 0"),
    (["A", "alias.healthy.test"], "NOERROR", "mail.healthy.test.\t300\tIN\tA\t127.0.1.10"),
    (["A", "loop-a.healthy.test"], "NOERROR", "loop-b.healthy.test.\t300\tIN\tCNAME\tloop-a.healthy.test."),
    (["A", "mail.broken.healthy.test"], "SERVFAIL", "ANSWER: 0"),
    (["A", "2.0.0.127.dnsbl.lab.test"], "NOERROR", "IN\tA\t127.0.0.2"),
    (["TXT", "2.0.0.127.dnsbl.lab.test"], "NOERROR", "lab blocklist"),
    (["A", "1.0.0.127.dnsbl.lab.test"], "NXDOMAIN", "AUTHORITY: 1"),
    (["+tcp", "MX", "healthy.test"], "NOERROR", "(TCP)"),
])
async def test_dig_sees_what_a_real_server_would_say(server: LabDnsServer, args: list[str], status: str,
                                                     expected: str) -> None:
    code, output = await dig(server, *args)
    assert code == 0, output
    assert f"status: {status}" in output
    assert expected in output
    assert "recursion requested but not available" not in output


@needs_dig
@pytest.mark.parametrize(("name", "rdtype", "count"), [("big.healthy.test", "A", BIG_A_COUNT),
                                                       ("bigtxt.healthy.test", "TXT", BIG_TXT_COUNT)])
async def test_dig_retries_truncated_answers_over_tcp(server: LabDnsServer, name: str, rdtype: str,
                                                      count: int) -> None:
    code, output = await dig(server, rdtype, name)
    assert code == 0, output
    assert "Truncated, retrying in TCP mode" in output
    assert f"ANSWER: {count}," in output
    assert output.count(f"IN\t{rdtype}\t") == count


@needs_dig
async def test_dig_whoami_from_two_client_addresses(server: LabDnsServer) -> None:
    for source, public in WHOAMI.items():
        code, output = await dig(server, "-b", source, "+short", "A", "myip.lab.test")
        assert (code, output.strip()) == (0, public)
        code, output = await dig(server, "-b", source, "+short", "TXT", "myip.lab.test")
        assert (code, output.strip()) == (0, f'"{public}"')


@needs_dig
async def test_dig_times_out_on_a_dropped_name(server: LabDnsServer) -> None:
    code, output = await dig(server, "+time=1", "A", "blackhole.healthy.test")
    assert code == 9, output  # dig's exit status for "no reply from any server"
    assert "timed out" in output
