"""Refusals aimed at the tester: the lab's strict host refusing our own address is "could not
test from here", never the domain's fault."""

from __future__ import annotations

from mxwizard.core.findings import Side, Status
from mxwizard.diagnosis.rules.vantage import probe_refused, refusal_of_probe
from mxwizard.lab.smtp_policy import HostSpec, ReplyPolicy, blocklisted_reply, unknown_client_reply
from rules.conftest import reply

STRICT = HostSpec("mx.strict.test", "127.0.2.21", domains=("strict.test",), users=("bob", "carol"),
                  helo_checks=True, client_checks=True)


def test_a_blocklist_refusal_of_our_address_is_not_counted_against_the_server() -> None:
    said = reply(blocklisted_reply("127.0.1.14", "dnsbl.lab.test", "Listed for sending spam"))
    info = refusal_of_probe(said)
    assert info is not None
    found = probe_refused("mx.strict.test", said, info, "127.0.1.14",
                          "whether it accepts mail for strict.test", ())
    assert (found.id, found.status, found.side) == ("smtp.probe-refused", Status.WARN, Side.NETWORK)
    assert found.title == "Could not test from here: mx.strict.test refused our test address 127.0.1.14"
    assert "--source-ip" in found.fix


def test_missing_reverse_dns_of_our_address_is_about_us_but_an_unknown_user_is_not() -> None:
    assert refusal_of_probe(reply(unknown_client_reply("127.0.1.11"))) is not None
    policy = ReplyPolicy(STRICT)
    unknown = policy.recipient("nobody@strict.test", peer="127.0.1.10", sender="alice@home.test",
                               helo="mail.home.test", client_rejection=None, now=0.0)
    assert refusal_of_probe(reply(unknown)) is None
    accepted = policy.recipient("bob@strict.test", peer="127.0.1.10", sender="alice@home.test",
                                helo="mail.home.test", client_rejection=None, now=0.0)
    assert refusal_of_probe(reply(accepted)) is None
