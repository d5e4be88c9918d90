"""The lab's internet: its domains, DNS records, mail hosts, sending addresses and blocklist.

Addresses (all loopback, so nothing leaves the machine):
  127.0.0.1        the lab's DNS server (``lab serve``) — in-process labs pick a free port
  127.0.2.x        mail hosts (MX targets), all on the same SMTP port
  127.0.1.x        "public" addresses of sending servers in the send scenarios
  127.0.4.x        hostile mail hosts (lab/hostile.py) and the hosts of the DNS-fault domains
  127.0.6.x        the transport corner: MX hosts with lab-CA certificates, the MTA-STS web
                   server (lab/transport.py)
  127.0.8.53       the lab's lying resolver: "no such name" for every question (captive portals)
  ::ffff:127.0.2.x IPv6 addresses of dual-stack MX hosts: IPv4-mapped, so a dual-stack socket
                   reaches them over IPv4 loopback and the lab stays inside 127.0.0.0/8
Domains end in ``.test`` (reserved by RFC 2606), so they can never be confused with real ones.
Every situation of the FAQ lives here as records and host behaviours; ``scenarios.py`` names them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mxwizard.lab.dns_server import Fault
from mxwizard.lab.hostile import HOSTILE_HOSTS
from mxwizard.lab.keys import LAB_DKIM_PUBLIC_KEY
from mxwizard.lab.smtp_hosts import HostSpec
from mxwizard.lab.transport import TRANSPORT_HOSTS, transport_zones

TTL = 300
#: The lab's internet: its loopback addresses stand for public ones (the policy World.point gives).
LAB_NETWORK = "127.0.0.0/8"
DNSBL_ZONE = "dnsbl.lab.test"
WHOAMI_NAME = "myip.lab.test"
#: The lab's lying resolver (``World.liar``): ``--resolver 127.0.8.53 --lab`` asks it.
LYING_RESOLVER = "127.0.8.53"
#: What the whoami name answers a client that is not in a scenario: the healthy sender's address.
WHOAMI_DEFAULT = "127.0.1.10"
RFC5782_TEST_LISTING = "127.0.0.2"

#: The mail hosts. Names resolve to these addresses and have matching PTR records.
HOSTS: tuple[HostSpec, ...] = (
    HostSpec("mx1.healthy.test", "127.0.2.1", domains=("healthy.test", "cnamemx.test")),
    HostSpec("mx2.healthy.test", "127.0.2.2", domains=("healthy.test",)),
    HostSpec("web.nomx.test", "127.0.2.3", domains=("nomx.test",)),
    HostSpec("down.backup.test", "127.0.2.4", mode="refuse"),
    HostSpec("mx2.backup.test", "127.0.2.5", domains=("backup.test",)),
    HostSpec("mx1.badbackup.test", "127.0.2.6", domains=("badbackup.test",)),
    HostSpec("mx2.badbackup.test", "127.0.2.7", domains=("other.test",)),
    HostSpec("mx.notaccepted.test", "127.0.2.8", domains=("other.test",)),
    HostSpec("mx.users.test", "127.0.2.9", domains=("users.test",), users=("alice", "bob")),
    HostSpec("mx.greylist.test", "127.0.2.10", domains=("greylist.test",), greylist_seconds=1.0),
    HostSpec("mx.banner554.test", "127.0.2.11", domains=("banner554.test",), banner="reject"),
    HostSpec("mx.notls.test", "127.0.2.12", domains=("notls.test",), starttls=False),
    HostSpec("mx1.blackhole.test", "127.0.2.13", mode="blackhole"),
    HostSpec("mx2.blackhole.test", "127.0.2.14", mode="blackhole"),
    HostSpec("mx.mismatch.test", "127.0.2.15", domains=("mismatch.test",),
             banner_name="mail.elsewhere.test"),
    HostSpec("relay.open.test", "127.0.2.20", domains=("open.test",), open_relay=True),
    HostSpec("mx.strict.test", "127.0.2.21", domains=("strict.test",), users=("bob", "carol"),
             helo_checks=True, client_checks=True),
    HostSpec("mx.home.test", "127.0.2.22", domains=("home.test",)),
    HostSpec("mx.intranet.test", "127.0.2.23", domains=("intranet.test",)),
    HostSpec("mx.dualstack.test", "127.0.2.30", domains=("dualstack.test",)),
    HostSpec("mx.v6broken.test", "127.0.2.31", domains=("v6broken.test",)),
    # 127.0.4.x: the reliability corner of the lab (hostile hosts live in lab/hostile.py).
    HostSpec("mx.dns-faults.test", "127.0.4.100", domains=(
        "dns-slow.test", "dns-truncated.test", "dns-nodata.test", "dns-bigtxt.test",
        "dns-cnameloop.test")),
    HostSpec("mx.dns-evilptr.test", "127.0.4.101", domains=("dns-evilptr.test",)),
    # 127.0.6.x: the transport-security corner (certificates, MTA-STS, DANE: lab/transport.py).
    *TRANSPORT_HOSTS,
)


@dataclass(frozen=True)
class Sender:
    """A sending server of the send scenarios: its address, PTR name and what that name resolves to."""

    ip: str
    ptr: str | None
    ptr_resolves_to: str | None


SENDERS: tuple[Sender, ...] = (
    Sender("127.0.1.10", "mail.home.test", "127.0.1.10"),  # healthy
    Sender("127.0.1.11", None, None),  # no PTR
    Sender("127.0.1.12", "mail.noconfirm.test", "127.0.1.99"),  # PTR not forward-confirmed
    Sender("127.0.1.13", "127-0-1-13.dyn.isp.test", "127.0.1.13"),  # generic, dynamic-looking
    Sender("127.0.1.14", "mail.listed.test", "127.0.1.14"),  # on the lab blocklist
)

#: Addresses on the lab blocklist, with the reason its TXT record gives.
LISTED = {
    RFC5782_TEST_LISTING: "RFC 5782 test entry: every blocklist lists 127.0.0.2",
    "127.0.1.14": "Listed for sending spam to lab traps; see http://dnsbl.lab.test/q?127.0.1.14",
}

#: IPv6 addresses (AAAA) of dual-stack MX hosts. Their reverse names are those of the IPv4
#: addresses they map (dnspython and most resolvers look ::ffff:a.b.c.d up in in-addr.arpa).
#: mx.v6broken.test's is the refusing machine's (127.0.2.4): its IPv6 side takes no mail.
MAPPED_V6: dict[str, str] = {
    "mx.dualstack.test": "::ffff:127.0.2.30",
    "mx.v6broken.test": "::ffff:127.0.2.4",
}


def _txt(value: str) -> str:
    """A TXT value in zone syntax, split into strings of at most 200 characters (the limit is 255)."""
    return " ".join(f'"{value[i:i + 200]}"' for i in range(0, len(value), 200))


_SPF_INCLUDES = " ".join(f"include:spf{i}.spflimit.test" for i in range(1, 12))

#: Records per zone, in zone-file syntax relative to the zone's origin ("@" is the origin).
ZONES: dict[str, list[str]] = {
    "healthy.test": [
        "@ MX 10 mx1", "@ MX 20 mx2", "mx1 A 127.0.2.1", "mx2 A 127.0.2.2",
        '@ TXT "v=spf1 mx -all"', '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@healthy.test"',
    ],
    "nomx.test": ["@ A 127.0.2.3", "web A 127.0.2.3"],
    "nowhere.test": ['@ TXT "this domain has no mail records at all"'],
    "nullmx.test": ["@ MX 0 .", '@ TXT "v=spf1 -all"'],
    "iplit.test": ["@ MX 10 127.0.2.1."],
    "dangling.test": ["@ MX 10 mail"],
    "cnamemx.test": ["@ MX 10 mail", "mail CNAME mx1.healthy.test."],
    "backup.test": ["@ MX 10 down", "@ MX 20 mx2", "down A 127.0.2.4", "mx2 A 127.0.2.5"],
    "badbackup.test": ["@ MX 10 mx1", "@ MX 20 mx2", "mx1 A 127.0.2.6", "mx2 A 127.0.2.7"],
    "notaccepted.test": ["@ MX 10 mx", "mx A 127.0.2.8"],
    "users.test": ["@ MX 10 mx", "mx A 127.0.2.9"],
    "greylist.test": ["@ MX 10 mx", "mx A 127.0.2.10"],
    "banner554.test": ["@ MX 10 mx", "mx A 127.0.2.11"],
    "notls.test": ["@ MX 10 mx", "mx A 127.0.2.12"],
    "blackhole.test": ["@ MX 10 mx1", "@ MX 20 mx2", "mx1 A 127.0.2.13", "mx2 A 127.0.2.14"],
    "mismatch.test": ["@ MX 10 mx", "mx A 127.0.2.15"],
    "elsewhere.test": ["mail A 127.0.9.9"],
    "open.test": ["@ MX 10 relay", "relay A 127.0.2.20"],
    "strict.test": ["@ MX 10 mx", "mx A 127.0.2.21", '@ TXT "v=spf1 mx -all"'],
    "other.test": ["@ MX 10 mx", "mx A 127.0.2.8"],
    "dualstack.test": ["@ MX 10 mx", "mx A 127.0.2.30", f"mx AAAA {MAPPED_V6['mx.dualstack.test']}"],
    "v6broken.test": ["@ MX 10 mx", "mx A 127.0.2.31", f"mx AAAA {MAPPED_V6['mx.v6broken.test']}"],
    "home.test": [
        "@ MX 10 mx", "mx A 127.0.2.22", "mail A 127.0.1.10",
        '@ TXT "v=spf1 ip4:127.0.1.10 -all"',
        '_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@home.test"',
        f"mail._domainkey TXT {_txt(f'v=DKIM1; k=rsa; p={LAB_DKIM_PUBLIC_KEY}')}",
        'revoked._domainkey TXT "v=DKIM1; k=rsa; p="',
    ],
    "nordns.test": ["@ MX 10 mx.home.test.", "mail A 127.0.1.11", '@ TXT "v=spf1 ip4:127.0.1.11 -all"'],
    "noconfirm.test": ["@ MX 10 mx.home.test.", "mail A 127.0.1.99",
                       '@ TXT "v=spf1 ip4:127.0.1.12 -all"'],
    "dynamic.test": ["@ MX 10 mx.home.test.", '@ TXT "v=spf1 ip4:127.0.1.13 -all"'],
    "isp.test": ["127-0-1-13.dyn A 127.0.1.13"],
    "listed.test": ["@ MX 10 mx.home.test.", "mail A 127.0.1.14", '@ TXT "v=spf1 ip4:127.0.1.14 -all"'],
    "spffail.test": ["@ MX 10 mx.home.test.", '@ TXT "v=spf1 ip4:127.0.1.200 -all"'],
    "spflimit.test": ["@ MX 10 mx.home.test.", f"@ TXT {_txt(f'v=spf1 {_SPF_INCLUDES} -all')}"]
    + [f'spf{i} TXT "v=spf1 ip4:127.0.3.{i} ~all"' for i in range(1, 12)],
    "dmarcfail.test": ["@ MX 10 mx.home.test.", '@ TXT "v=spf1 ip4:127.0.1.201 -all"',
                       '_dmarc TXT "v=DMARC1; p=reject"'],
    # A company's intranet (--private-network): its relay has a private address, with reverse
    # DNS and SPF of its own; without the option, that address is "behind NAT".
    "intranet.test": ["@ MX 10 mx", "mx A 127.0.2.23", "relay A 192.168.1.20",
                      '@ TXT "v=spf1 ip4:192.168.1.0/24 -all"'],
    "1.168.192.in-addr.arpa": ["20 PTR relay.intranet.test."],
    # An MX published with its private address: senders on the internet cannot reach it (the
    # lab never connects there either: only addresses that count as public are visited).
    "privatemx.test": ["@ MX 10 mx", "mx A 10.20.30.40"],
    # ...and its reverse zone, with no PTR: the lab answers for it instead of refusing.
    "30.20.10.in-addr.arpa": [],
    # What every resolver answers for the machine's own name (RFC 6761).
    "localhost": ["@ A 127.0.0.1"],
    "lab.test": ["ns A 127.0.0.1"],
    # The parent of every lab domain: names under .test that the lab does not define do not exist.
    "test": [],
    # The hostile hosts of lab/hostile.py: each is the only MX of its own hostile-*.test domain.
    **{h.domain: h.zone_records() for h in HOSTILE_HOSTS},
    # DNS faults: each domain shows one way DNS breaks (the faults themselves are in DNS_FAULTS).
    "dns-faults.test": ["mx A 127.0.4.100"],
    "dns-slow.test": ["@ MX 10 mx.dns-faults.test."],
    "dns-servfail-host.test": ["@ MX 10 mx"],
    "dns-truncated.test": [f"@ MX {10 * i} mx{i}-{'x' * 40}" for i in range(1, 9)]
    + [f"mx{i}-{'x' * 40} A 127.0.4.100" for i in range(1, 9)],
    "dns-nodata.test": ["@ A 127.0.4.100", '@ TXT "v=spf1 a -all"'],
    "dns-cnameloop.test": ["@ MX 10 mail", "mail CNAME loop", "loop CNAME mail"],
    "dns-bigtxt.test": [
        "@ MX 10 mx.dns-faults.test.",
        f"@ TXT {_txt('v=spf1 ' + ' '.join(f'ip4:192.0.2.{i}' for i in range(1, 60)) + ' -all')}",
        f"big TXT {_txt('x' * 1500)}",
    ],
    "dns-evilptr.test": ["@ MX 10 mx", "mx A 127.0.4.101"],
    # Reverse DNS of 127.0.4.x (a more specific zone: it hides 127.in-addr.arpa for these addresses).
    # The PTR of 127.0.4.101 carries ESC ] 2 ; (set the window title) and BEL, as zone escapes.
    "4.0.127.in-addr.arpa": [f"{h.ip.rsplit('.', 1)[1]} PTR {h.name}." for h in HOSTILE_HOSTS]
    + ["100 PTR mx.dns-faults.test.", r"101 PTR \027\0932\059owned\007.dns-evilptr.test."],
}

# Hostile records (the red team's bounds attacks, tests/test_bounds_inputs.py): each must end in
# time and memory, and say what was refused.


def _spf_bomb(domain: str, width: int, depth: int = 12) -> list[str]:
    """An SPF include graph ``width`` wide and ``depth`` deep under ``domain``, every node
    including every node of the next level: few records, but width**depth paths for a walk that
    only stops at loops.
    """
    def includes(level: int) -> str:
        return " ".join(f"include:n{level}-{i}.{domain}" for i in range(width))

    out = ["@ MX 10 mx.home.test.", f"@ TXT {_txt(f'v=spf1 ip4:127.0.1.10 {includes(1)} -all')}"]
    for level in range(1, depth + 1):
        body = includes(level + 1) if level < depth else "ip4:127.0.3.1"
        out += [f"n{level}-{i} TXT {_txt(f'v=spf1 {body} ~all')}" for i in range(width)]
    return out


def _der(tag: int, body: bytes) -> bytes:
    """One DER element (tag, definite length, body)."""
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _rsa_key(modulus_bits: int, exponent: int, seed: int) -> str:
    """The base64 SubjectPublicKeyInfo of an RSA "key" with a made-up modulus of
    ``modulus_bits`` bits and the given public exponent (nobody holds its private half: it only
    has to parse, which is what the attack needs)."""
    import base64
    import random

    modulus = random.Random(seed).getrandbits(modulus_bits) | (1 << (modulus_bits - 1)) | 1

    def integer(value: int) -> bytes:
        return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))

    rsa_public_key = _der(0x30, integer(modulus) + integer(exponent))
    algorithm = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010101")) + _der(0x05, b""))
    spki = _der(0x30, algorithm + _der(0x03, b"\0" + rsa_public_key))
    return base64.b64encode(spki).decode("ascii")


#: DKIM keys that would make a pure-Python verifier compute for seconds per signature: a
#: 16,384-bit modulus with an 18,000-bit exponent (about 9 s per pow() here), and one for each
#: of the other limits (probes/dkim.py: key bytes, modulus bits, exponent bits).
DKIM_BOMB_KEYS: dict[str, str] = {
    "bomb": _rsa_key(16384, (1 << 18000) - 1, 1),  # too many bytes, too long, huge exponent
    "bign": _rsa_key(12288, 65537, 2),  # a 12,288-bit modulus, ordinary exponent
    "bige": _rsa_key(2048, (1 << 12000) - 1, 3),  # an ordinary modulus, 12,000-bit exponent
}

ZONES.update({
    # An SPF include graph 3 wide and 12 deep (531,441 paths), and one 10 wide (10**12 paths).
    "spfbomb.test": _spf_bomb("spfbomb.test", 3),
    "spfbomb-wide.test": _spf_bomb("spfbomb-wide.test", 10),
    # DKIM keys that are absurd on purpose (DKIM_BOMB_KEYS), and the lab key under "mail", so a
    # message signed for this domain verifies.
    "dkimbomb.test": [
        "@ MX 10 mx.home.test.", '@ TXT "v=spf1 ip4:127.0.1.10 -all"',
        f"mail._domainkey TXT {_txt(f'v=DKIM1; k=rsa; p={LAB_DKIM_PUBLIC_KEY}')}",
        *(f"{selector}._domainkey TXT {_txt(f'v=DKIM1; k=rsa; p={key}')}"
          for selector, key in DKIM_BOMB_KEYS.items()),
    ],
    # An SPF chain of ten includes on a slow DNS (DNS_FAULTS: every answer takes a second): the
    # SPF step runs out of time, and pyspf's thread must stop with it.
    "spfslow.test": ["@ MX 10 mx.home.test.", '@ TXT "v=spf1 include:s1.spfslow.test -all"']
    + [f's{i} TXT "v=spf1 include:s{i + 1}.spfslow.test ~all"' for i in range(1, 10)]
    + ['s10 TXT "v=spf1 ip4:127.0.3.1 ~all"'],
})

#: Names the lab's DNS server breaks on purpose, and how (seconds matter for "slow" only).
DNS_FAULTS: dict[str, tuple[Fault, float]] = {
    "dns-servfail.test": (Fault.SERVFAIL, 0.0),
    "mx.dns-servfail-host.test": (Fault.SERVFAIL, 0.0),
    "dns-drop.test": (Fault.DROP, 0.0),
    "dns-slow.test": (Fault.SLOW, 1.0),
    "spfslow.test": (Fault.SLOW, 1.0),
}


def _reverse_records() -> list[str]:
    out = [f"{'.'.join(reversed(h.ip.split('.')[1:]))} PTR {h.name}." for h in HOSTS]
    out.append("1.0.0 PTR localhost.")  # as every resolver answers it (RFC 6761)
    out += [f"{'.'.join(reversed(s.ip.split('.')[1:]))} PTR {s.ptr}." for s in SENDERS if s.ptr]
    return out


def _blocklist_records() -> list[str]:
    out: list[str] = []
    for ip, reason in LISTED.items():
        owner = ".".join(reversed(ip.split(".")))
        out += [f"{owner} A 127.0.0.2", f'{owner} TXT "{reason}"']
    return out


#: Thirty more blocklists that list only the RFC 5782 test address: what a realistic sweep of
#: public lists costs, for the benchmark and for trainers (``--dnsbl`` any of them).
SWEEP_ZONES = tuple(f"bl{n:02}.sweep.lab.test" for n in range(1, 31))


def _sweep_records() -> list[str]:
    return [record for zone in SWEEP_ZONES for record in (
        f"2.0.0.127.{zone}. A 127.0.0.2", f'2.0.0.127.{zone}. TXT "RFC 5782 test entry"')]


def zone_texts() -> Iterator[tuple[str, str]]:
    """Every zone of the lab as (origin, zone-file text), with SOA and NS records."""
    # The root zone holds its apex only (its name servers: the resolver sanity question).
    extra = {".": [], "127.in-addr.arpa": _reverse_records(), DNSBL_ZONE: _blocklist_records(),
             "sweep.lab.test": _sweep_records(),
             **transport_zones()}  # its TLSA records come from this process's lab CA
    for origin, records in {**ZONES, **extra}.items():
        head = [
            f"$ORIGIN {origin.rstrip('.')}.",
            f"$TTL {TTL}",
            f"@ SOA ns.lab.test. hostmaster.lab.test. 2026112301 3600 600 86400 {TTL}",
            "@ NS ns.lab.test.",
        ]
        yield origin, "\n".join(head + records) + "\n"


def whoami_map() -> dict[str, str]:
    """What the whoami name answers each sender: its own lab address (they ask from it)."""
    return {s.ip: s.ip for s in SENDERS}
