"""SPF: does the sender's domain authorise this IP address to send its mail? (pyspf, RFC 7208)

pyspf does the evaluation, exactly as many receivers do. It resolves through the module global
``spf.DNSLookup``; this module replaces that global ONCE, at import, with a dispatcher that asks
the DNS client of the diagnosis that is running (found through a ContextVar, which
``asyncio.to_thread`` carries into the worker thread). pyspf blocks, so it always runs in a
thread; its lookups are handed back to the event loop with ``run_coroutine_threadsafe`` — a
lookup made on the loop itself would deadlock against the in-process lab DNS server. Outside a
diagnosis (no dispatcher set), pyspf's own resolver is used unchanged.

Besides the verdict, a postmaster wants to see the record's include tree and how many of the
ten allowed DNS-querying terms it uses; :func:`include_tree` walks it with the async client.
The record parser is pure and never raises: records are hostile input.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, cast

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import spf

from mxwizard.probes.dns import DnsClient, Lookup, Outcome
from mxwizard.probes.spf_record import LOOKUP_TERMS, SpfRecord, parse_spf, spf_records

#: RFC 7208 §4.6.4: at most 10 terms that cause DNS queries, at most 2 that find nothing.
LOOKUP_LIMIT = spf.MAX_LOOKUP
VOID_LIMIT = spf.MAX_VOID_LOOKUPS


class _LoopResolver:
    """Resolves pyspf's questions with a diagnosis's DnsClient, from pyspf's worker thread.

    A thread cannot be cancelled, so the evaluation is stopped through its DNS hook: after the
    deadline, or once :meth:`close` was called (the step was cancelled), every question is
    answered with a TempError, which ends pyspf's evaluation at once. ``close`` also cancels
    the question in flight, so the thread does not sit out a DNS timeout first.
    """

    def __init__(self, dns: DnsClient, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self.dns = dns
        self.loop = loop
        self.deadline = deadline
        self.closed = False
        self.asked: list[Lookup] = []
        self._in_flight: Future[Lookup] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Refuse every further question and drop the one in flight (called on the loop)."""
        with self._lock:
            self.closed = True
            if self._in_flight is not None:
                self._in_flight.cancel()

    def lookup(self, name: str, qtype: str) -> list[tuple[tuple[str, str], Any]]:
        remaining = self.deadline - time.monotonic()
        with self._lock:
            if self.closed or remaining <= 0:
                raise spf.TempError("DNS: the time allowed for the SPF check ran out")
            try:
                future = asyncio.run_coroutine_threadsafe(self.dns.query(name, qtype), self.loop)
            except RuntimeError:  # the loop is gone: the diagnosis ended
                raise spf.TempError("DNS: the diagnosis ended") from None
            self._in_flight = future
        try:
            found = future.result(timeout=remaining)
        except FutureTimeout:
            future.cancel()
            raise spf.TempError(f"DNS: no answer for {name} {qtype} in time") from None
        except CancelledError:
            raise spf.TempError("DNS: the SPF check was stopped") from None
        except ValueError:  # a name dnspython cannot put in a query (too long, bad label)
            return []
        finally:
            with self._lock:
                self._in_flight = None
        self.asked.append(found)
        if found.outcome.is_failure:
            raise spf.TempError(f"DNS {found.outcome.value} for {name} {qtype}")
        return _pyspf_answers(found)


def _plain(name: str) -> str:
    """A name in presentation form (``a\\032b.example``) as pyspf spells it: raw labels, no dot."""
    try:
        labels = dns.name.from_text(name).labels
    except dns.exception.DNSException:
        return name.rstrip(".")
    return ".".join(label.decode("utf-8", "surrogateescape") for label in labels if label)


def _pyspf_answers(found: Lookup) -> list[tuple[tuple[str, str], Any]]:
    """A lookup in the shape pyspf expects: ((owner, type), value) with TXT as a tuple of bytes."""
    out: list[tuple[tuple[str, str], Any]] = []
    for record in found.answer:
        owner = _plain(record.name)
        if record.rdtype in {"TXT", "SPF"}:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(record.rdtype),
                                        record.text)
            out.append(((owner, record.rdtype), tuple(rdata.strings)))  # type: ignore[attr-defined]
        elif record.rdtype == "MX":
            preference, exchange = cast(tuple[int, str], record.value)
            out.append(((owner, "MX"), (preference, _plain(exchange))))
        elif record.rdtype in {"PTR", "CNAME"}:
            out.append(((owner, record.rdtype), _plain(str(record.value))))
        elif record.rdtype in {"A", "AAAA"}:
            out.append(((owner, record.rdtype), record.value))
    return out


_resolver: contextvars.ContextVar[_LoopResolver | None] = contextvars.ContextVar(
    "spf_resolver", default=None)
_PYSPF_OWN_LOOKUP: Callable[..., Any] = spf.DNSLookup


def _dispatch(name: str, qtype: str, strict: Any = True, timeout: Any = None) -> Any:
    """pyspf's DNS hook: the running diagnosis's resolver, or pyspf's own outside a diagnosis."""
    resolver = _resolver.get()
    if resolver is None:
        return _PYSPF_OWN_LOOKUP(name, qtype, strict, timeout)
    return resolver.lookup(name, qtype)


# The one module-level swap this module makes (DESIGN.md §3): every pyspf query goes through
# _dispatch, which picks the resolver of the diagnosis whose thread is asking.
spf.DNSLookup = _dispatch


@dataclass(frozen=True)
class SpfVerdict:
    """pyspf's answer for one identity (MAIL FROM or HELO) and the counts behind it."""

    identity: str  # "mailfrom" or "helo"
    domain: str
    ip: str
    result: str  # pass fail softfail neutral none permerror temperror
    explanation: str
    lookups: int
    void_lookups: int
    #: The term that decided the result (e.g. "ip4:192.0.2.1"), when pyspf names one.
    mechanism: str = ""
    #: The lookups pyspf made, in order (evidence; also in the diagnosis's DNS view).
    asked: tuple[Lookup, ...] = ()


def _run_pyspf(ip: str, sender: str, helo: str) -> tuple[str, str, int, int, str]:
    query = spf.query(i=ip, s=sender, h=helo, timeout=60)
    result, _code, explanation = query.check()
    result = {"unknown": "permerror", "error": "temperror"}.get(result, result)
    mechanism = query.mechanism if isinstance(query.mechanism, str) else ""
    return result, str(explanation), int(query.lookups), int(query.void_lookups), mechanism


async def check_spf(dns: DnsClient, ip: str, sender: str, helo: str, time_limit: float,
                    identity: str = "mailfrom") -> SpfVerdict:
    """Evaluate SPF with pyspf for ``ip`` sending as ``sender`` after ``HELO helo``.

    For the HELO identity pass ``sender="postmaster@" + helo`` (RFC 7208 §2.3). pyspf runs in a
    thread; ``time_limit`` seconds bound the whole evaluation (it becomes ``temperror``).
    """
    resolver = _LoopResolver(dns, asyncio.get_running_loop(), time.monotonic() + time_limit)
    token = _resolver.set(resolver)
    try:
        result, explanation, lookups, voids, mechanism = await asyncio.to_thread(
            _run_pyspf, ip, sender, helo)
    finally:
        resolver.close()
        _resolver.reset(token)
    domain = sender.rpartition("@")[2] if "@" in sender else helo
    return SpfVerdict(identity, domain, ip, result, explanation, lookups, voids, mechanism,
                      tuple(resolver.asked))


@dataclass
class SpfNode:
    """One domain of the include tree: its SPF record and the domains it includes or redirects to."""

    domain: str
    #: How the parent reached it: "" for the top, else "include" or "redirect".
    via: str
    lookup: Lookup
    record: SpfRecord | None = None
    #: What is wrong at this node ("no SPF record", "2 SPF records", "include loop", ...).
    problem: str = ""
    children: list[SpfNode] = field(default_factory=list)
    #: Why the walk stopped at this node ("" where it did not): the tree below is incomplete.
    stopped: str = ""
    #: The node this one repeats: the same domain reached a second time is neither fetched nor
    #: walked again, but an evaluator spends its lookups again, so they are counted again.
    repeats: SpfNode | None = None

    def lookup_terms(self) -> int:
        """DNS-querying terms in this record and everything below it (the RFC's count, static)."""
        if self.repeats is not None:
            return self.repeats.lookup_terms()
        own = self.record.lookup_terms if self.record else 0
        return own + sum(child.lookup_terms() for child in self.children)

    def walk_stopped(self) -> str:
        """Why the walk stopped somewhere in this tree ("" when it saw everything)."""
        if self.stopped:
            return self.stopped
        return next((why for child in self.children if (why := child.walk_stopped())), "")

    def lines(self, indent: str = "") -> list[str]:
        """The tree as indented text lines (each line is untrusted: it quotes DNS)."""
        via = f"{self.via}:" if self.via else ""
        if self.repeats is not None:
            what = "(reached again: shown above, its lookups count again)"
        else:
            what = f'"{self.record.text}"' if self.record else f"({self.problem})"
        line = f"{indent}{via}{self.domain}  {what}"
        if self.record and self.problem and self.repeats is None:
            line += f"  ({self.problem})"
        out = [line]
        if self.stopped:  # a line of its own: the record line may be cut when shown
            out.append(f"{indent}  (the walk stopped here: {self.stopped})")
        for child in self.children:
            out += child.lines(indent + "  ")
        return out


def _evaluation_order(record: SpfRecord) -> list[tuple[str, str]]:
    """The record's DNS-querying terms in the order an evaluator meets them: the mechanisms left
    to right, then the modifiers (RFC 7208 §6.1: ``redirect=`` is used only when no mechanism
    matched); the same terms :attr:`SpfRecord.lookup_terms` counts. Each is (how to follow it:
    "include", "redirect" or "" for a term that leads to no record, its domain)."""
    counted = [t for t in record.terms if t.name in LOOKUP_TERMS]
    ordered = [t for t in counted if not t.is_modifier] + [t for t in counted if t.is_modifier]
    first_redirect = next((t for t in ordered if t.is_modifier and t.name == "redirect"), None)
    return [("include" if t.name == "include" and not t.is_modifier
             else "redirect" if t is first_redirect else "", t.value) for t in ordered]


async def include_tree(dns: DnsClient, domain: str, limit: int = LOOKUP_LIMIT) -> SpfNode:
    """Fetch the SPF record of ``domain`` and every record it includes or redirects to, depth
    first in evaluation order, the way a receiver walks it for an address that matches nothing.

    The walk is bounded by what an evaluator would fetch: it counts the DNS-querying terms as it
    meets them and stops at term ``limit + 1`` (RFC 7208 §4.6.4: the evaluator stops there with
    a permerror, so nothing further can matter), saying so in the node where it stopped. Each
    domain is fetched and walked once (a global visited set): an include graph that fans out
    and joins again (every node including every node of the next level) costs one lookup per
    domain, not one per path. Loops are noted where they close. The records a node includes are
    asked for at the same time, ahead of the walk (so a wide record costs one round trip, not
    one per include), but no more than ``limit + 1`` names ahead in all: the most an evaluator
    fetches.
    """
    walked: dict[str, SpfNode] = {}
    asked: set[str] = set()  # names whose record was asked for (walked or ahead of the walk)
    ahead: list[asyncio.Future[Lookup]] = []
    count = 0  # DNS-querying terms met so far, in evaluation order

    def over_limit(node: SpfNode, extra: int) -> bool:
        nonlocal count
        if count + extra <= limit:
            count += extra
            return False
        count = limit + 1
        node.stopped = (f"this is DNS-querying term number {limit + 1} or later; receivers stop "
                        f"at {limit} with a permerror (RFC 7208 section 4.6.4), so the rest is "
                        "not fetched")
        return True

    def ask_ahead(record: SpfRecord) -> None:
        for kind, value in _evaluation_order(record):
            target = value.lower().rstrip(".")
            if len(asked) > limit:
                return
            if kind and target and "%" not in target and target not in asked:
                asked.add(target)
                ahead.append(asyncio.ensure_future(dns.query(target, "TXT")))

    async def visit(name: str, via: str, path: frozenset[str]) -> SpfNode:
        asked.add(name)
        try:
            lookup = await dns.query(name, "TXT")
        except ValueError:  # a name no DNS query can carry (a label over 63 octets, ...)
            node = SpfNode(name, via, Lookup(name, "TXT", dns.server_text, Outcome.ERROR,
                                             note="not a valid domain name"))
            node.problem = "not a valid domain name (a permerror for receivers)"
            walked[name] = node
            return node
        node = SpfNode(name, via, lookup)
        walked[name] = node
        if lookup.outcome.is_failure:
            node.problem = f"lookup failed: {lookup.outcome.value}"
            return node
        found = spf_records(lookup.texts())
        if not found:
            node.problem = "no SPF record" if lookup.outcome is not Outcome.NXDOMAIN else "no such domain"
            return node
        if len(found) > 1:
            node.problem = f"{len(found)} SPF records (only one is allowed: permerror)"
        node.record = parse_spf(found[0])
        ask_ahead(node.record)
        for kind, value in _evaluation_order(node.record):
            if over_limit(node, 1):
                break
            target = value.lower().rstrip(".")
            if not kind or not target or "%" in target:
                continue
            if target in path:
                loop = f"include loop back to {target}"
                node.problem = f"{node.problem}; {loop}" if node.problem else loop
                continue
            if target in walked:
                again = walked[target]
                repeat = SpfNode(target, kind, again.lookup, repeats=again)
                node.children.append(repeat)
                if over_limit(repeat, again.lookup_terms()):
                    break
                continue
            child = await visit(target, kind, path | {target})
            node.children.append(child)
            if count > limit:
                break
        return node

    start = domain.lower().rstrip(".")
    try:
        return await visit(start, "", frozenset({start}))
    finally:  # questions asked ahead that the walk never reached: nobody waits for them
        for question in ahead:
            question.cancel()
        await asyncio.gather(*ahead, return_exceptions=True)


def proposed_record(current: SpfRecord | None, ip: str) -> str:
    """The record that would authorise ``ip``: the current one with the address added in front,
    or a new minimal record that allows only this address."""
    version = ipaddress.ip_address(ip).version
    term = f"ip4:{ip}" if version == 4 else f"ip6:{ip}"
    if current is None:
        return f"v=spf1 {term} -all"
    rest = [t.raw for t in current.terms]
    return " ".join(["v=spf1", term, *rest])
