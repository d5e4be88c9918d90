"""A lying resolver (unbound with ``local-zone: "." always_nxdomain``, like a captive portal):
its "does not exist" must be blamed on the resolver, never on the domain."""

from __future__ import annotations

import pytest

from .observe import dig
from .peers import Check, Peers
from .zones import STRICT


@pytest.mark.parametrize("domain", [STRICT, "gmail.com"])
def test_lying_resolver_is_not_believed(peers: Peers, mxwizard: Check, domain: str) -> None:
    """(f) The resolver health: unbound answers NXDOMAIN for every name, even the
    root, without asking anyone (gmail.com included: nothing leaves the machine). Expected
    dns.resolver-broken (side network), no domain.nxdomain, exit 3."""
    for name, rdtype in ((domain, "MX"), (".", "NS")):
        said = dig(peers.liar, name, rdtype)
        assert said.status == "NXDOMAIN", said.output
    assert dig(peers.resolver, ".", "NS").status == "NOERROR"  # the honest one knows the root

    report = mxwizard("receive", domain, resolver=peers.liar)
    broken = report.one("dns.resolver-broken")
    assert broken["side"] == "network", report.summary()
    assert not report.with_id("domain.nxdomain"), report.summary()
    assert report.status == 3, report.summary()
