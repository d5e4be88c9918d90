"""DNS lookups shown the way ``dig`` shows them: question, status, answer and authority.

Admins trust what they can reproduce, so each lookup is rendered with the ``dig`` command that
asks the same question of the same server. Used by the text report and the TUI's DNS tab alike.
"""

from __future__ import annotations

from mxwizard.core.untrusted import visible
from mxwizard.probes.dns import Lookup, Outcome


def dig_command(lookup: Lookup) -> str:
    """The ``dig`` command line that repeats this lookup."""
    server, _, port = lookup.server.rpartition(":")
    server = server.strip("[]")
    port_part = f" -p {port}" if port and port != "53" else ""
    return visible(f"dig @{server}{port_part} {lookup.qname} {lookup.qtype}", 400)


def render_lookup(lookup: Lookup) -> str:
    """One lookup as a short dig-style block (all text from the server made visible)."""
    status = "NOERROR" if lookup.outcome is Outcome.NODATA else lookup.outcome.value
    head = visible(f";; {lookup.qname} {lookup.qtype} @{lookup.server} -> {status}", 400)
    if lookup.outcome is Outcome.NODATA:
        head += " (no records of this type)"
    head += f", {lookup.ms:.0f} ms"
    lines = [head]
    if lookup.note:
        lines.append(f";; {visible(lookup.note, 300)}")
    if lookup.answer:
        lines.append(";; ANSWER:")
        lines.extend(visible(r.zone_line(), 400) for r in lookup.answer)
    if lookup.authority and not lookup.answer:
        lines.append(";; AUTHORITY:")
        lines.extend(visible(r.zone_line(), 400) for r in lookup.authority)
    return "\n".join(lines)


def render_lookups(lookups: list[Lookup]) -> str:
    """Every lookup of a diagnosis, in the order they were sent."""
    ordered = sorted(lookups, key=lambda lookup: lookup.t_ms)
    return "\n\n".join(render_lookup(lookup) for lookup in ordered)
