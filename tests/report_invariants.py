"""What no report may say: a finding its own SMTP replies or DNS lookups contradict. Checked on
every lab scenario (tests/test_scenarios.py) and every report made against the real peers
(tests/realpeers/conftest.py)."""

from __future__ import annotations

from typing import Any


def contradictions(report: dict[str, Any]) -> list[str]:
    """Findings that the same report's own SMTP replies or lookups contradict: an acceptance
    without a 250, TLS judged without a STARTTLS, a closed relay without a refusal, a check
    that passed while the domain's MX lookup itself failed."""
    ids = {f["id"] for f in report["findings"]}
    lines = [line for t in report.get("transcripts", []) for line in t["lines"]]
    replies = [line["text"] for line in lines if line["dir"] == "S"]
    tls = any(line["dir"] == "C" and line["text"].upper().startswith("STARTTLS") for line in lines)
    found = []
    if ids & {"smtp.accepts", "delivery.accepted", "relay.open"} and \
            not any(reply.startswith("250") for reply in replies):
        found.append("mail accepted, but no 250 in the transcript")
    if ids & {"smtp.tls-ok", "smtp.tls-certificate-ok", "dane.ok"} and not tls:
        found.append("TLS judged, but no STARTTLS in the transcript")
    if any("TLS" in row["rule"] and row["status"] == "pass" for row in report.get("checklist", [])) \
            and not tls:
        found.append("checklist: TLS passes, but no STARTTLS in the transcript")
    if "relay.closed" in ids and not any(reply[:1] == "5" for reply in replies):
        found.append("relay closed, but no permanent refusal in the transcript")
    domain = report.get("target", {}).get("domain", "").rstrip(".").lower()
    own_mx = [d["rcode"] for d in report.get("dns", [])
              if d["qtype"] == "MX" and d["qname"].rstrip(".").lower() == domain]
    if own_mx and not set(own_mx) & {"NOERROR", "NODATA", "NXDOMAIN"} and \
            any(f["status"] == "pass" for f in report["findings"]):
        found.append(f"a pass, though every MX lookup of {domain} failed ({', '.join(own_mx)})")
    return found
