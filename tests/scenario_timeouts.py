"""The lab scenarios whose diagnosis waits out ``--timeout`` on purpose, and the short timeout
the tests run them with.

A black-holed MX, a greeting that never ends, a TLS handshake that never starts, a resolver that
never answers, a greylisting retry: each of these scenarios *is* a wait for the timeout (10 s by
default, 2 or 3 s in the scenarios that set one). What the tests check is what the wait ends in,
not how long it is, so they give these scenarios one second, set the way a user sets it
(``--timeout``, or ``Settings.timeout``). Everything else in the lab answers in milliseconds on
loopback, even on a loaded machine, so one second still separates "answers" from "never answers"
by a wide margin; the scenarios that do not wait keep their own timeout (it costs nothing).
"""

from __future__ import annotations

from typing import Any

#: Scenario name -> the timeout (seconds) its tests use.
SHORT: dict[str, float] = {
    "port25-blocked": 1.0,  # both MX hosts black-holed, tried one after the other
    "all-mx-unreachable": 1.0,  # both MX hosts black-holed, tried together
    "hostile-noeol": 1.0,  # the greeting never ends its line
    "hostile-drip": 1.0,  # the greeting comes a byte every half second
    "hostile-starttls-silence": 1.0,  # TLS never starts after 220
    "dns-no-answer": 1.0,  # the domain's DNS never answers
    "mta-sts-timeout": 1.0,  # the policy web server never answers
    # the retry waits min(3 s, timeout); the lab's greylist lets a triplet through after 1 s
    "greylisting": 1.5,
}


def timeout_for(scenario: Any, default: float) -> float:
    """The timeout a test gives ``scenario``: its short one, else ``default``."""
    return SHORT.get(scenario.name, default)


def cli_args(scenario: Any) -> list[str]:
    """The scenario's command line, with the short ``--timeout`` last (the last one counts)."""
    args = list(scenario.args)
    if scenario.name in SHORT:
        args += ["--timeout", f"{SHORT[scenario.name]:g}"]
    return args
