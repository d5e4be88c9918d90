"""A lying resolver is not a missing domain.

Captive portals, filtering resolvers and broken VPN DNS answer NXDOMAIN for every name. Every
diagnosis asks its resolver for the root's name servers (``. NS``) in the same round as its
first lookup; a resolver that denies the root is proven to lie, and the rules that would say
"the domain does not exist" say ``dns.resolver-broken`` instead. Tested against the lab's honest
DNS server, the lab's lying resolver, and tiny real UDP servers on loopback that lie in one way
or another.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from mxwizard.core.inputs import parse_domain
from mxwizard.core.settings import Settings
from mxwizard.diagnosis.plans import receive
from mxwizard.diagnosis.rules.dns import ResolverVerdict, resolver_verdict
from mxwizard.diagnosis.runner import diagnose
from mxwizard.lab import internet, scenarios
from mxwizard.lab.world import World, running_lab
from mxwizard.probes.dns import Lookup, Outcome
from mxwizard.probes.resolver_health import ResolverSanity

CheckJson = Callable[[list[str]], tuple[int, Any]]
#: What a tiny resolver answers: rcode for a question (name with its final dot, type).
Policy = Callable[[str, str], int]


def ids(report: Any) -> list[str]:
    return [f["id"] for f in report["findings"]]


def nxdomain_for_everything(name: str, qtype: str) -> int:
    return dns.rcode.NXDOMAIN


def servfail_for_the_root(name: str, qtype: str) -> int:
    return dns.rcode.SERVFAIL if name == "." else dns.rcode.NXDOMAIN


class _TinyResolver(socketserver.BaseRequestHandler):
    """Answers every UDP question with the rcode its server's policy gives, and no records."""

    def handle(self) -> None:
        data, sock = self.request
        query = dns.message.from_wire(data)
        reply = dns.message.make_response(query, recursion_available=True)
        question = query.question[0]
        reply.set_rcode(self.server.policy(  # type: ignore[attr-defined]
            question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
        sock.sendto(reply.to_wire(), self.client_address)


@pytest.fixture
def tiny_resolver() -> Iterator[Callable[[Policy], str]]:
    """Start tiny UDP resolvers on 127.0.0.1 (a real socket each); returns their IP:PORT."""
    servers: list[socketserver.UDPServer] = []

    def start(policy: Policy) -> str:
        server = socketserver.UDPServer(("127.0.0.1", 0), _TinyResolver)
        server.policy = policy  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def resolver_broken(report: Any) -> list[Any]:
    return [f for f in report["findings"] if f["id"] == "dns.resolver-broken"]


# ---------------------------------------------------------------- an honest resolver


def test_the_lab_answers_the_sanity_question_honestly(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "healthy.test", "--lab"])
    assert code == 0
    assert not resolver_broken(report)
    sanity = [q for q in report["dns"] if q["qname"] == "." and q["qtype"] == "NS"]
    assert len(sanity) == 1
    assert sanity[0]["rcode"] == "NOERROR" and sanity[0]["answers"] == [". 300 IN NS ns.lab.test."]


def test_a_domain_that_really_does_not_exist_is_still_missing(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "missing.test", "--lab"])
    assert code == 1
    assert "domain.nxdomain" in ids(report)
    assert not resolver_broken(report)


def test_the_lab_does_not_claim_that_real_domains_do_not_exist(check_json: CheckJson) -> None:
    """The lab's root zone is its apex only: a name outside the lab is refused, not denied."""
    _, report = check_json(["check", "receive", "gmail.com", "--lab"])
    assert "domain.nxdomain" not in ids(report) and "dns.refused" in ids(report)


async def test_a_diagnosis_asks_the_sanity_question_in_its_first_round() -> None:
    """With 100 ms per answer, the root question leaves before the MX answer arrives."""
    async with running_lab(latency_ms=100) as world:
        diagnosis = await diagnose(receive.plan(parse_domain("missing.test")),
                                   world.point(Settings(timeout=5)))
    assert "domain.nxdomain" in diagnosis.ids()
    mx = next(lk for lk in diagnosis.lookups if lk.qname == "missing.test" and lk.qtype == "MX")
    sanity = next(lk for lk in diagnosis.lookups if lk.qname == "." and lk.qtype == "NS")
    assert sanity.outcome is Outcome.ANSWER
    assert sanity.t_ms < mx.t_ms + mx.ms  # sent while the MX question was still on its way


# ---------------------------------------------------------------- a lying resolver


@pytest.mark.parametrize("domain", ["healthy.test", "gmail.com"])
def test_a_resolver_that_denies_everything_is_blamed_not_the_domain(
    check_json: CheckJson, tiny_resolver: Callable[[Policy], str], domain: str
) -> None:
    liar = tiny_resolver(nxdomain_for_everything)
    code, report = check_json(["check", "receive", domain, "--resolver", liar, "--timeout", "2"])
    assert code == 3
    assert "domain.nxdomain" not in ids(report)
    [finding] = resolver_broken(report)
    assert finding["status"] == "error" and finding["side"] == "network"
    assert liar in finding["title"] and "root of the DNS" in finding["title"]
    assert "nothing it says about names can be trusted" in finding["detail"]
    assert "--resolver 9.9.9.9" in finding["fix"] and "captive portal" in finding["fix"]
    assert finding["evidence"] == [f"dig @127.0.0.1 -p {liar.split(':')[1]} . NS -> NXDOMAIN (no records)"]


def test_a_lying_resolver_does_not_fail_the_sender_domain_or_helo(
    check_json: CheckJson, tiny_resolver: Callable[[Policy], str]
) -> None:
    liar = tiny_resolver(nxdomain_for_everything)
    code, report = check_json([
        "check", "send", "--from", "alice@home.test", "--to", "bob@strict.test",
        "--ip", "127.0.1.10", "--helo", "mail.home.test", "--private-network",
        "--dnsbl", "dnsbl.lab.test", "--resolver", liar, "--timeout", "2"])
    found = ids(report)
    assert "sender-domain.nxdomain" not in found and "helo.unresolvable" not in found
    assert "domain.nxdomain" not in found and "recipient.domain.nxdomain" not in found
    assert found.count("dns.resolver-broken") == 1  # three rules reached it; it is said once
    # nothing else that rests on the liar's answers is counted: no fail, the verdict is that
    # the diagnosis could not be completed, and the resolver finding leads the report
    assert found[0] == "dns.resolver-broken"
    assert not [f for f in report["findings"] if f["status"] in ("fail", "warn")]
    assert report["verdict"]["status"] == "error" and report["verdict"]["side"] == "network"
    assert code == 3


def test_without_proof_an_nxdomain_is_believed(
    check_json: CheckJson, tiny_resolver: Callable[[Policy], str]
) -> None:
    """SERVFAIL for the root proves nothing either way: the domain's NXDOMAIN stands."""
    resolver = tiny_resolver(servfail_for_the_root)
    code, report = check_json(["check", "receive", "healthy.test", "--resolver", resolver,
                               "--timeout", "2"])
    assert code == 1
    assert "domain.nxdomain" in ids(report) and not resolver_broken(report)


def test_the_lab_has_a_lying_resolver_of_its_own(check_json: CheckJson) -> None:
    code, report = check_json(["check", "receive", "healthy.test", "--resolver",
                               scenarios.LYING_RESOLVER, "--lab"])
    assert code == 3
    assert ids(report)[0] == "dns.resolver-broken" and "domain.nxdomain" not in ids(report)
    assert all(q["server"].startswith(f"{internet.LYING_RESOLVER}:") for q in report["dns"])


async def test_the_lab_liar_is_real_and_where_the_world_says(lab: World) -> None:
    assert scenarios.LYING_RESOLVER == internet.LYING_RESOLVER == lab.liar_addr
    query = dns.message.make_query(".", "NS")
    lied = await dns.asyncquery.udp(query, lab.liar_addr, port=lab.liar_port, timeout=2)
    honest = await dns.asyncquery.udp(query, lab.dns_addr, port=lab.dns_port, timeout=2)
    assert lied.rcode() == dns.rcode.NXDOMAIN
    assert honest.rcode() == dns.rcode.NOERROR and honest.answer
    assert lab.point(Settings(resolver=(lab.liar_addr, 53))).resolver == (lab.liar_addr, lab.liar_port)
    assert lab.point(Settings()).resolver == (lab.dns_addr, lab.dns_port)


# ---------------------------------------------------------------- the verdict


def _sanity(outcome: Outcome) -> ResolverSanity:
    return ResolverSanity("127.0.0.1:53", (Lookup(".", "NS", "127.0.0.1:53", outcome),))


@pytest.mark.parametrize(("outcome", "verdict"), [
    (Outcome.ANSWER, ResolverVerdict.HONEST),
    (Outcome.NXDOMAIN, ResolverVerdict.LIES),
    (Outcome.NODATA, ResolverVerdict.LIES),  # the root always has name servers
    (Outcome.SERVFAIL, ResolverVerdict.UNKNOWN),
    (Outcome.TIMEOUT, ResolverVerdict.UNKNOWN),
    (Outcome.REFUSED, ResolverVerdict.UNKNOWN),
])
def test_only_an_impossible_answer_proves_a_lie(outcome: Outcome, verdict: ResolverVerdict) -> None:
    assert resolver_verdict(_sanity(outcome)) is verdict
