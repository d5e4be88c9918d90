"""What the rule tests stand on: the lab's recorded DNS answers, and the one place that turns
observations into the :class:`Facts` a rule reads.

The rules (``mxwizard.diagnosis.rules``) are pure functions from facts to findings, so they are
tested here without a network: the facts are the probes' own dataclasses, filled with what the
lab really answered (``data/lab_dns.json``, recorded by ``record_lab.py``) and, for SMTP, with
the replies the lab's hosts give (``mxwizard.lab.smtp_policy``). The real conversations behind
them are tested elsewhere (tests/test_scenarios.py runs every scenario against the lab).

:func:`facts_with` is the only code here that knows how a diagnosis stores its facts; when that
changes, it is the one function to adapt.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mxwizard.core.settings import Settings
from mxwizard.core.transcript import Direction, TranscriptLine
from mxwizard.diagnosis import facts as fact_keys
from mxwizard.diagnosis.tree import FactKey, Facts
from mxwizard.lab import LAB_DNS_PORT, LAB_SMTP_PORT
from mxwizard.lab.internet import DNSBL_ZONE, LAB_NETWORK, WHOAMI_NAME
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.probes.mx import MxHost
from mxwizard.probes.reverse_dns import ReverseDns
from mxwizard.probes.smtp.session import ConnectOutcome, Exchange, Reply, SessionFacts

DATA = Path(__file__).parent / "data"

#: The settings ``--lab`` gives (``World.point``): the lab's resolver, SMTP port and blocklist,
#: and its loopback range standing for public addresses.
LAB = Settings(resolver=("127.0.0.1", LAB_DNS_PORT), smtp_port=LAB_SMTP_PORT,
               dnsbl_zones=(DNSBL_ZONE,), own_networks=(LAB_NETWORK,), whoami_name=WHOAMI_NAME)


def _keys() -> dict[str, FactKey[Any]]:
    return {key.name: key for key in vars(fact_keys).values() if isinstance(key, FactKey)}


def facts_with(settings: Settings = LAB, **by_step: object) -> Facts:
    """The facts a rule sees, each under its step's key: ``facts_with(mx=..., mx_hosts=...)``
    (underscores for the dashes of a key's name, ``resolver_health`` for the sanity answer)."""
    keys = _keys()
    facts = Facts(settings)
    for step, observed in by_step.items():
        name = step.replace("_", "-")
        if name not in keys:
            raise KeyError(f"no fact is called {name!r}; the keys are {sorted(keys)}")
        facts.record(keys[name], observed)
    return facts


# -- the lab's recorded DNS answers ----------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """The lookups of one lab scenario's check, by (name, type)."""

    scenario: str
    lookups: dict[tuple[str, str], Lookup]

    def __call__(self, qname: str, qtype: str) -> Lookup:
        """The lookup of ``qname`` ``qtype``, as the lab answered it."""
        try:
            return self.lookups[(qname, qtype)]
        except KeyError:
            raise KeyError(f"{self.scenario}: the lab was not asked {qname} {qtype}") from None


@functools.cache
def _recorded() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads((DATA / "lab_dns.json").read_text())
    return data


def recorded(scenario: str) -> Recording:
    """What the lab's DNS answered in ``scenario`` (the first answer to each question)."""
    lookups: dict[tuple[str, str], Lookup] = {}
    for raw in _recorded()[scenario]:
        lookup = Lookup(raw["qname"], raw["qtype"], raw["server"], Outcome(raw["rcode"]),
                        tuple(Record.from_zone_line(line) for line in raw["answers"]))
        lookups.setdefault((lookup.qname, lookup.qtype), lookup)
    return Recording(scenario, lookups)


def reverse(rec: Recording, ip: str) -> ReverseDns:
    """The reverse DNS of ``ip`` and the forward lookup of each PTR name, as recorded."""
    ptr = rec(".".join(reversed(ip.split("."))) + ".in-addr.arpa", "PTR")
    names = tuple(str(v) for v in ptr.values())
    return ReverseDns(ip, ptr, names, {name: rec(name, "A") for name in names})


def mx_host(rec: Recording, preference: int, name: str, *, with_reverse: bool = True,
            implicit: bool = False) -> MxHost:
    """An MX host with its recorded A and AAAA lookups (and the reverse DNS of its addresses)."""
    lookups = (rec(name, "A"), rec(name, "AAAA"))
    addresses = [str(v) for lookup in lookups for v in lookup.values()]
    found = tuple(reverse(rec, ip) for ip in addresses) if with_reverse else ()
    return MxHost(preference, name, lookups, found, implicit)


# -- SMTP sessions as the lab's hosts answer them --------------------------------------------


def reply(text: str, t_ms: float = 0.0) -> Reply:
    """A reply from its wire form, one line per line: ``"250-mx.test\\n250 SIZE 1000"``."""
    lines = text.split("\n")
    code = int(lines[0][:3])
    return Reply.parse(code, "\n".join(line[4:] for line in lines), t_ms)


def session(host: str, ip: str, banner: str, *exchanges: tuple[str, str, str],
            port: int = LAB_SMTP_PORT, helo: str = "probe.mxwizard.invalid",
            source_ip: str | None = None, ended: str = "quit") -> SessionFacts:
    """A session that was greeted with ``banner`` and then made ``exchanges``, each
    (verb, command line, reply in wire form), with its transcript lines."""
    greeting = reply(banner)
    found = SessionFacts(host, ip, port, helo, source_ip, outcome=ConnectOutcome.GREETED,
                         banner=greeting, ended=ended)
    found.lines.append(TranscriptLine(0.0, Direction.SERVER, banner, ""))
    for t, (verb, command, answer) in enumerate(exchanges, start=1):
        answered = reply(answer, float(t))
        found.exchanges.append(Exchange(verb, command, float(t), answered))
        found.lines.append(TranscriptLine(float(t), Direction.CLIENT, command, ""))
        found.lines += [TranscriptLine(float(t), Direction.SERVER, line, "")
                        for line in answer.split("\n")]
        if verb == "EHLO":
            found.ehlo = answered
            found.extensions = {line[4:].split(" ")[0].upper(): " ".join(line[4:].split(" ")[1:])
                                for line in answer.split("\n")[1:]}
    return found
