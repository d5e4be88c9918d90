"""Checks against the real internet (deselected by default: run with ``pytest -m online``)."""

from __future__ import annotations

import pytest

from mxwizard.probes.dns import DnsClient, system_nameservers
from mxwizard.probes.public_ip import Scope, address_scope, detect_online

pytestmark = pytest.mark.online


async def test_echo_services_tell_our_public_address() -> None:
    client = DnsClient(system_nameservers(), timeout=5)
    found = await detect_online(client, timeout=5)
    assert found.detected is not None, found.problem
    assert address_scope(found.detected) in {Scope.PUBLIC, Scope.SHARED}
