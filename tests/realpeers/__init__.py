"""Integration tests against real, unmodified mail software from Debian, on loopback only.

The fixtures in ``conftest.py`` start Postfix, postgrey, OpenDKIM and two unbound resolvers,
configured from scratch in a temporary directory, with the project's own authoritative lab DNS
server behind them; the tests point ``mxwizard check`` at them and compare its verdicts with what
the real servers really answer (swaks and dig confirm). Nothing leaves 127.0.0.0/8.
"""
