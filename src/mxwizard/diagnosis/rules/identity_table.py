"""The consistency table: every name and address a receiver compares, on one screen.

IP → PTR name → that name's addresses → HELO name → its addresses → sender domain → its MX and
SPF. A postmaster reads it top to bottom; each row that does not hold carries the rejection a
real receiver gives for it, so the user can match it against the bounce they got.
"""

from __future__ import annotations

from dataclasses import dataclass

from mxwizard.core.findings import Finding, Status
from mxwizard.core.untrusted import visible
from mxwizard.diagnosis.facts import HELO, RDNS, SENDER_DOMAIN, SPF
from mxwizard.diagnosis.rules.identity import is_internal_name, looks_generic
from mxwizard.diagnosis.rules.mx import reachable_hosts
from mxwizard.diagnosis.tree import Facts


@dataclass(frozen=True)
class Row:
    """One line of the table: what, its value, whether it holds, and what a receiver says if not."""

    label: str
    value: str
    holds: bool | None  # None: not known (a step did not run)
    rejection: str = ""

    def line(self) -> str:
        """The row as text (the value is untrusted and made visible)."""
        mark = "?" if self.holds is None else "✔" if self.holds else "✖"
        text = f"{mark} {self.label:<15} {visible(self.value, 120)}"
        if self.holds is False and self.rejection:
            text += f"\n    a receiver says: {self.rejection}"
        return text


def identity_rows(facts: Facts, ip: str, sender_domain: str) -> list[Row]:
    """The rows, from whatever the earlier steps observed."""
    rows = [Row("IP address", ip, True)]
    rdns = facts.get(RDNS)
    if rdns is not None:
        name = rdns.names[0] if rdns.names else ""
        generic = looks_generic(name, ip) if name else ""
        rows.append(Row("PTR name", name or "(none)", bool(name) and not generic,
                        "550-5.7.25 (Gmail), 450 4.7.25 Client host rejected: cannot find your "
                        "hostname (Postfix)" if not name else
                        "550 5.7.1 ... not allowed to send directly (dynamic range)"))
        if name:
            back = [str(v) for v in rdns.forward[name].values()] if name in rdns.forward else []
            rows.append(Row("PTR → address", ", ".join(back) or "(none)", ip in back,
                            "450 4.7.25 Client host rejected: cannot find your hostname "
                            "(Postfix), 550-5.7.25 (Gmail)"))
    helo = facts.get(HELO)
    if helo is not None:
        label = "HELO (assumed)" if helo.assumed else "HELO name"
        fqdn = "." in helo.name or helo.literal is not None
        internal = is_internal_name(helo.name, facts.settings.own_networks)
        rows.append(Row(label, helo.name, fqdn and not internal,
                        "504 5.5.2 Helo command rejected: need fully-qualified hostname (Postfix "
                        "with reject_non_fqdn_helo_hostname)"
                        if not fqdn else "450 4.7.1 Helo command rejected: Host not found "
                        "(Postfix), 501 5.5.4 (Gmail)"))
        if helo.literal is None and fqdn:
            rows.append(Row("HELO → address", ", ".join(helo.addresses) or "(none)",
                            ip in helo.addresses or (rdns is not None and helo.name in rdns.names),
                            "450 4.7.1 Helo command rejected: Host not found (Postfix)"
                            if not helo.addresses else "counted as spam (HELO does not match)"))
    route = facts.get(SENDER_DOMAIN)
    if route is not None:
        sender = route.mx
        targets = [t.host for t in sender.targets if not t.is_null]
        rows.append(Row("Sender domain", sender_domain, sender.mx.outcome.value != "NXDOMAIN",
                        "553 5.1.8 Sender address rejected: Domain not found (Postfix)"))
        rows.append(Row("Its MX", ", ".join(targets) or ", ".join(sender.fallback_addresses)
                        or "(none)", bool(reachable_hosts(facts, route.hosts)),
                        "450 4.1.8 Sender address rejected: Domain not found (Postfix)"))
    spf = facts.get(SPF)
    if spf is not None and spf.mailfrom is not None:
        record = spf.tree.record.text if spf.tree.record else "(no SPF record)"
        rows.append(Row("Its SPF", f"{record}  → {spf.mailfrom.result} for {ip}",
                        spf.mailfrom.result == "pass",
                        "550 5.7.23 SPF validation failed; Gmail 550-5.7.26 unauthenticated"))
    return rows


def judge_identity(facts: Facts, ip: str, sender_domain: str) -> list[Finding]:
    """The ``identity.table`` info finding: the table as its evidence."""
    rows = identity_rows(facts, ip, sender_domain)
    known = [r for r in rows if r.holds is not None]
    holding = sum(1 for r in known if r.holds)
    return [Finding(
        "identity.table", Status.INFO,
        f"Your server's identity at a glance: {holding} of {len(known)} checks hold",
        detail=("What a receiver compares when your server connects: the address, its reverse "
                "DNS, the HELO name and the sender domain should all tell the same story."),
        evidence=tuple(line for row in rows for line in row.line().split("\n")))]
