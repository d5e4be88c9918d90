"""Record what the lab's DNS answers in the scenarios the rule tests stand on.

The rule tests (tests/rules/) judge facts without a network; the DNS answers those facts hold
are the lab's own, recorded here from the DNS section of ``mxwizard check ... --lab --format
json`` (the lookups exactly as the report shows them) into ``data/lab_dns.json``. Run it again
when the lab's zones change::

    .venv/bin/python tests/rules/record_lab.py

Only the lookups of the checks the rules judge are kept (not the transport-security ones).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mxwizard.lab import LAB_DNS_PORT
from mxwizard.lab.scenarios import SCENARIOS

DATA = Path(__file__).parent / "data" / "lab_dns.json"
#: The scenarios whose DNS answers the rule tests use.
RECORDED = (
    "healthy-domain", "domain-nxdomain", "no-mx-a-fallback", "null-mx", "mx-ip-literal",
    "mx-dangling", "mx-cname", "dns-evil-ptr", "dns-servfail", "resolver-lies",
    "unknown-mailbox", "domain-not-accepted", "all-mx-unreachable",
    "healthy-sender", "sender-no-ptr", "ptr-not-confirmed", "generic-ptr", "helo-localhost",
    "sender-blocklisted", "spf-fail", "dkim-key-revoked", "dmarc-reject-unaligned",
)
#: Lookups of other checks (MTA-STS, TLS-RPT, DANE): not what these rules judge.
SKIPPED = ("_mta-sts.", "mta-sts.", "_smtp._tls.", "_25._tcp.")


def record(name: str) -> list[dict[str, object]]:
    """The lookups of one scenario's check, without timings (they change from run to run)."""
    scenario = next(s for s in SCENARIOS if s.name == name)
    done = subprocess.run([sys.executable, "-m", "mxwizard", *scenario.args, "--timeout", "3",
                           "--format", "json"], capture_output=True, text=True, timeout=120,
                          check=False)
    report = json.loads(done.stdout)
    kept = [{key: lookup[key] for key in ("qname", "qtype", "server", "rcode", "answers")}
            for lookup in report["dns"] if not lookup["qname"].startswith(SKIPPED)]
    for lookup in kept:  # the documented port, whichever one the lab had to take this time
        lookup["server"] = f"{str(lookup['server']).rpartition(':')[0]}:{LAB_DNS_PORT}"
    return kept


def main() -> None:
    recorded = {name: record(name) for name in RECORDED}
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"{DATA}: {sum(map(len, recorded.values()))} lookups of {len(recorded)} scenarios")


if __name__ == "__main__":
    main()
