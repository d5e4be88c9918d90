"""DNS lookups that remember what was asked and what came back.

Each query goes straight to one DNS server (the ``--resolver``, the lab's server, or the system's
from /etc/resolv.conf) with dnspython's low-level query functions rather than its stub resolver,
because a diagnosis needs what the stub resolver hides: the exact rcode, the authority section,
the CNAME chain, and the difference between "the name does not exist" (NXDOMAIN), "the name has no
such record" (NODATA), "the server failed" (SERVFAIL/REFUSED) and "nobody answered" (timeout).
Every query becomes a :class:`Lookup`, handed to ``on_lookup`` for the DNS view as it completes.
Identical questions within one diagnosis are asked once and shared.

Every query sets the AD bit (RFC 6840 §5.7: "tell me whether you validated this"), so a
validating resolver says in each answer whether DNSSEC authenticated it; :attr:`Lookup.authenticated`
carries that. The DANE and DNSSEC checks also set DO (``dnssec=True``), as validators expect of a
security-aware client, and CD (``checking_disabled=True``) to tell a DNSSEC failure ("bogus":
the resolver has the answer but refuses it) from any other SERVFAIL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename

from mxwizard.probes.udp import UdpChannels, timed_out

#: Records kept from one section of an answer. Real answers are far smaller (a 1,232-byte UDP
#: answer holds about 70 A records, and big providers publish a handful); a server that sends
#: thousands is broken or hostile, and every address kept costs a reverse lookup, an SMTP
#: visit candidate and report lines. The rest is counted in the lookup's note.
MAX_RECORDS = 64
#: CNAME links followed through an answer to the records of the asked name.
MAX_CNAME_LINKS = 16
#: Record types that only carry DNSSEC proofs: with DO they come along; they prove nothing to a
#: reader of the DNS view, and the AD bit already says what the resolver made of them.
_DNSSEC_TYPES = frozenset({dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3})


class Outcome(str, Enum):
    """What became of a query, in the words the rules need to tell causes apart."""

    ANSWER = "NOERROR"  # the name has records of the asked type
    NODATA = "NODATA"  # the name exists but has no record of this type
    NXDOMAIN = "NXDOMAIN"  # the name does not exist
    SERVFAIL = "SERVFAIL"  # the server could not get an answer (often broken DNSSEC or NS)
    REFUSED = "REFUSED"  # the server will not answer us (not its zone, or ACL)
    TIMEOUT = "TIMEOUT"  # nobody answered in time
    ERROR = "ERROR"  # anything else: malformed reply, other rcode, socket error

    @property
    def is_failure(self) -> bool:
        """True when the server did not give a usable answer (as opposed to "no such record")."""
        return self in {Outcome.SERVFAIL, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.ERROR}


@dataclass(frozen=True)
class Record:
    """One resource record: presentation ``text`` plus a typed ``value`` for the rules.

    ``value`` is (preference, exchange) for MX, the joined string for TXT, the address for A and
    AAAA, the target name (without the final dot) for PTR, CNAME and NS, else the text.
    """

    name: str
    ttl: int
    rdtype: str
    text: str
    value: object = field(compare=False)

    def zone_line(self) -> str:
        """The record as a zone file line, the way ``dig`` prints it."""
        return f"{self.name} {self.ttl} IN {self.rdtype} {self.text}"

    @classmethod
    def from_zone_line(cls, line: str) -> Record:
        """The record a :meth:`zone_line` wrote (a saved session read back); ValueError if the line
        is not one. Data that dnspython cannot read (a hand-made file) is kept as its text."""
        parts = line.split(None, 4)
        if len(parts) != 5 or not parts[1].isdigit() or len(parts[1]) > 10 or parts[2].upper() != "IN":
            raise ValueError("not a zone file line (name ttl IN type data)")
        name, ttl, _class, rdtype, data = parts
        try:
            kind = dns.rdatatype.to_text(dns.rdatatype.from_text(rdtype))
        except Exception:  # dnspython raises several kinds for a type it does not know
            raise ValueError(f"{rdtype[:10]!r} is not a record type") from None
        try:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, kind, data)
        except Exception:  # whatever dnspython raises for text it cannot read
            return cls(name, int(ttl), kind, data, data)
        return cls(name, int(ttl), kind, rdata.to_text(), _value(rdata, kind))


@dataclass(frozen=True)
class Lookup:
    """One question to one DNS server and everything about its answer."""

    qname: str
    qtype: str
    server: str
    outcome: Outcome
    answer: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    #: Milliseconds since the diagnosis started, when the question was sent.
    t_ms: float = 0.0
    #: Round-trip time in milliseconds.
    ms: float = 0.0
    #: Extra words on a failure (the socket error, "truncated, retried over TCP", ...).
    note: str = ""
    #: The resolver set AD: it validated the answer with DNSSEC (only a validating resolver
    #: ever sets it; False says nothing by itself about whether the zone is signed).
    authenticated: bool = False

    def records(self, rdtype: str | None = None) -> list[Record]:
        """Answer records of ``rdtype`` (default: the asked type), after any CNAME chain."""
        wanted = rdtype or self.qtype
        return [r for r in self.answer if r.rdtype == wanted]

    def values(self, rdtype: str | None = None) -> list[object]:
        """The typed values of :meth:`records`."""
        return [r.value for r in self.records(rdtype)]

    def texts(self) -> list[str]:
        """TXT strings (each record's character-strings joined), or other types' values as text."""
        return [str(v) for v in self.values()]

    @property
    def cname_chain(self) -> list[str]:
        """The CNAME targets the answer went through, in order (empty when there was none)."""
        return [str(r.value) for r in self.answer if r.rdtype == "CNAME"]

    def to_json(self) -> dict[str, object]:
        """The lookup as the ``dns`` entry of the JSON report (DESIGN.md §2)."""
        out: dict[str, object] = {
            "t_ms": round(self.t_ms, 1),
            "qname": self.qname,
            "qtype": self.qtype,
            "server": self.server,
            "rcode": self.outcome.value,
            "answers": [r.zone_line() for r in self.answer],
            "ms": round(self.ms, 1),
        }
        if self.note:  # what was not kept of the answer, or why there is none
            out["note"] = self.note
        if self.authenticated:  # the resolver validated it (DNSSEC)
            out["ad"] = True
        return out


class NoResolverError(RuntimeError):
    """There is no DNS server to ask: no ``--resolver`` and nothing usable in /etc/resolv.conf."""


def system_nameservers() -> list[tuple[str, int]]:
    """The system's DNS servers, from /etc/resolv.conf (read only when no resolver was given)."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        raise NoResolverError(f"no DNS resolver is configured on this machine ({exc})") from None
    servers = [(ns, resolver.port) for ns in resolver.nameservers if isinstance(ns, str)]
    if not servers:
        raise NoResolverError("no DNS resolver is configured in /etc/resolv.conf")
    return servers


def _value(rdata: object, rdtype: str) -> object:
    if rdtype == "MX":
        return (int(rdata.preference), rdata.exchange.to_text(omit_final_dot=True))  # type: ignore[attr-defined]
    if rdtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "surrogateescape")  # type: ignore[attr-defined]
    if rdtype in {"A", "AAAA"}:
        return str(rdata.address)  # type: ignore[attr-defined]
    if rdtype in {"PTR", "CNAME", "NS", "DNAME"}:
        return rdata.target.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
    return rdata.to_text()  # type: ignore[attr-defined]


def _records(section: list[dns.rrset.RRset]) -> tuple[tuple[Record, ...], int]:
    """The records of a section, at most :data:`MAX_RECORDS`, and how many more there were."""
    out: list[Record] = []
    total = 0
    for rrset in section:
        total += len(rrset)
        if len(out) >= MAX_RECORDS:
            continue
        rdtype = dns.rdatatype.to_text(rrset.rdtype)
        name = rrset.name.to_text()
        for rdata in rrset:
            if len(out) >= MAX_RECORDS:
                break
            out.append(Record(name, rrset.ttl, rdtype, rdata.to_text(), _value(rdata, rdtype)))
    return tuple(out), total - len(out)


def _answering(section: list[dns.rrset.RRset], qname: dns.name.Name) -> list[dns.rrset.RRset]:
    """The RRsets of an answer section that answer the question: those owned by the asked name
    and by each name of the CNAME chain that starts there (and a DNAME above one of them, which
    a server sends with the CNAME it made of it). A server may add records of any other name;
    they answer nothing that was asked and are never counted as the name's."""
    owners = [qname]
    for _ in range(MAX_CNAME_LINKS):
        link = next((r for r in section if r.rdtype == dns.rdatatype.CNAME and r.name == owners[-1]),
                    None)
        if link is None or len(link) == 0:
            break
        target = link[0].target
        if target in owners:
            break
        owners.append(target)
    return [rrset for rrset in section if rrset.name in owners or (
        rrset.rdtype == dns.rdatatype.DNAME and any(o.is_subdomain(rrset.name) for o in owners))]


def _outcome(response: dns.message.Message, qtype: str,
             answer: list[dns.rrset.RRset] | None = None) -> Outcome:
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return Outcome.NXDOMAIN
    if rcode == dns.rcode.SERVFAIL:
        return Outcome.SERVFAIL
    if rcode == dns.rcode.REFUSED:
        return Outcome.REFUSED
    if rcode != dns.rcode.NOERROR:
        return Outcome.ERROR
    wanted = dns.rdatatype.from_text(qtype)
    section = response.answer if answer is None else answer
    has = any(rrset.rdtype == wanted for rrset in section)
    return Outcome.ANSWER if has else Outcome.NODATA


def reverse_name(ip: str) -> str:
    """The in-addr.arpa / ip6.arpa name whose PTR record names ``ip``."""
    return dns.reversename.from_address(ip).to_text(omit_final_dot=True)


def reversed_address(name: str) -> str:
    """The address a reverse (in-addr.arpa / ip6.arpa) name stands for; "" for any other name."""
    try:
        return str(dns.reversename.to_address(dns.name.from_text(name)))
    except Exception:  # not a reverse name, or not a whole address: dnspython raises several kinds
        return ""


class DnsClient:
    """Asks DNS questions for one diagnosis, records each one, and shares repeated questions.

    ``slots`` bounds how many network operations of the diagnosis are in flight (shared with the
    SMTP probes); ``clock`` gives milliseconds since the diagnosis started.
    """

    def __init__(
        self,
        servers: Sequence[tuple[str, int]],
        timeout: float,
        on_lookup: Callable[[Lookup], None] | None = None,
        slots: asyncio.Semaphore | None = None,
        clock: Callable[[], float] | None = None,
        source: str | None = None,
    ) -> None:
        if not servers:
            raise NoResolverError("no DNS server to ask")
        self.servers = list(servers)
        self.timeout = timeout
        #: The local address queries are sent from (the lab's whoami answers per asker).
        self.source = source
        self._on_lookup = on_lookup
        self._slots = slots or asyncio.Semaphore(128)
        started = time.monotonic()
        self._clock = clock or (lambda: (time.monotonic() - started) * 1000)
        self._asked: dict[tuple[str, str, bool, bool], asyncio.Task[Lookup]] = {}
        self._udp = UdpChannels()

    @property
    def server_text(self) -> str:
        """The server(s) asked, as ``ip:port`` for messages that must name the resolver."""
        return ", ".join(_where(ip, port) for ip, port in self.servers)

    async def query(self, name: str, qtype: str, *, dnssec: bool = False,
                    checking_disabled: bool = False) -> Lookup:
        """Ask for ``qtype`` records of ``name``; never raises for DNS or network trouble.

        ``dnssec`` sets DO (the DANE and DNSSEC checks); ``checking_disabled`` sets CD, which
        asks a validating resolver for the answer even when validation fails. RRSIG records
        that come with DO are not kept (they are counted in the note).

        A name that cannot be put in a query at all (a label over 63 octets, a name over 255,
        an empty label) raises ValueError: that is the caller's input, not an answer."""
        key = (name.lower().rstrip(".") or ".", qtype.upper(), dnssec, checking_disabled)
        try:
            dns.name.from_text(key[0])  # the root keeps its dot
        except dns.exception.DNSException as exc:
            raise ValueError(f"{name[:80]!r} cannot be asked in DNS ({exc})") from None
        task = self._asked.get(key)
        if task is None:
            task = asyncio.ensure_future(self._ask(*key))
            self._asked[key] = task
        return await asyncio.shield(task)

    async def addresses(self, name: str) -> tuple[Lookup, Lookup]:
        """The A and AAAA lookups of ``name``, asked at the same time."""
        a, aaaa = await asyncio.gather(self.query(name, "A"), self.query(name, "AAAA"))
        return a, aaaa

    async def ptr(self, ip: str) -> Lookup:
        """The PTR lookup for an IP address (reverse DNS)."""
        return await self.query(reverse_name(ip), "PTR")

    async def _ask(self, name: str, qtype: str, dnssec: bool = False,
                   checking_disabled: bool = False) -> Lookup:
        lookup: Lookup | None = None
        for ip, port in self.servers:
            lookup = await self._ask_server(name, qtype, ip, port, dnssec, checking_disabled)
            if lookup.outcome not in {Outcome.TIMEOUT, Outcome.ERROR}:
                break
        assert lookup is not None
        if self._on_lookup is not None:
            self._on_lookup(lookup)
        return lookup

    async def _ask_server(self, name: str, qtype: str, ip: str, port: int, dnssec: bool = False,
                          checking_disabled: bool = False) -> Lookup:
        server = _where(ip, port)
        request = dns.message.make_query(name, qtype, want_dnssec=dnssec)
        request.flags |= dns.flags.RD | dns.flags.AD
        if checking_disabled:
            request.flags |= dns.flags.CD
        async with self._slots:
            t_ms = self._clock()
            started = time.monotonic()
            try:
                response = await self._exchange(request, ip, port)
            except dns.exception.Timeout:
                return Lookup(
                    name, qtype, server, Outcome.TIMEOUT, t_ms=t_ms,
                    ms=(time.monotonic() - started) * 1000,
                    note=f"no answer from {server} within {self.timeout:g} s",
                )
            except ConnectionRefusedError:
                # The server's machine said that nothing listens on that port (ICMP port
                # unreachable): no answer will come, so there is no need to wait for the timeout.
                return Lookup(
                    name, qtype, server, Outcome.TIMEOUT, t_ms=t_ms,
                    ms=(time.monotonic() - started) * 1000,
                    note=f"no DNS server listens on {server} (the port is closed)",
                )
            except (OSError, dns.exception.DNSException, ValueError, EOFError) as exc:
                return Lookup(
                    name, qtype, server, Outcome.ERROR, t_ms=t_ms,
                    ms=(time.monotonic() - started) * 1000,
                    note=f"{type(exc).__name__}: {exc}",
                )
            ms = (time.monotonic() - started) * 1000
        notes: list[str] = []
        if checking_disabled:  # the same question may be in the view without CD: say which
            notes.append("asked with checking disabled (CD): the resolver did not validate")
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL,
                                    dns.rcode.REFUSED):
            notes.append(f"rcode {dns.rcode.to_text(response.rcode())}")
        answering = _answering(response.answer, request.question[0].name)
        strangers = sum(len(r) for r in response.answer) - sum(len(r) for r in answering)
        if strangers:
            notes.append(f"{strangers} answer record(s) for names that were not asked, ignored")
        signatures = sum(len(r) for r in (*answering, *response.authority)
                         if r.rdtype in _DNSSEC_TYPES)
        if signatures:
            notes.append(f"{signatures} DNSSEC record(s) (RRSIG, NSEC) not kept")
        answer, cut = _records([r for r in answering if r.rdtype not in _DNSSEC_TYPES])
        authority, cut_authority = _records([r for r in response.authority
                                             if r.rdtype not in _DNSSEC_TYPES])
        if cut or cut_authority:
            notes.append(f"{cut + cut_authority} record(s) beyond the first {MAX_RECORDS} of a "
                         "section, not kept")
        return Lookup(
            name, qtype, server, _outcome(response, qtype, answering),
            answer=answer, authority=authority, t_ms=t_ms, ms=ms, note="; ".join(notes),
            authenticated=bool(response.flags & dns.flags.AD),
        )

    async def _exchange(self, request: dns.message.Message, ip: str, port: int) -> dns.message.Message:
        """UDP with one retransmission inside the timeout, then TCP if the answer was truncated."""
        started = time.monotonic()
        response = await self._udp.ask(request, ip, port, timeout=self.timeout,
                                       resend_after=self.timeout * 0.4, source=self.source)
        if response.flags & dns.flags.TC:
            remaining = self.timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise timed_out(self.timeout)
            response = await dns.asyncquery.tcp(request, ip, timeout=remaining, port=port,
                                                source=self.source)
        return response


def _where(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ipaddress.ip_address(ip).version == 6 else f"{ip}:{port}"
