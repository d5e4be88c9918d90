"""The lab hosts' reply policy as plain functions: what a host answers, decided without a socket.

These are the decisions a sending server meets at each command; tests/lab/test_smtp_hosts.py
checks the same hosts over real connections. Here the clock is passed in, so greylisting is
checked at exact moments instead of by sleeping.
"""

from __future__ import annotations

from mxwizard.lab.smtp_policy import (
    HostSpec,
    ReplyPolicy,
    blocklisted_reply,
    logged_line,
    postfix_wording,
    unknown_client_reply,
)

STRICT = HostSpec("mx.strict.test", "127.0.2.21", domains=("strict.test",), users=("bob",),
                  helo_checks=True, client_checks=True, greylist_seconds=60)
GREYLIST = HostSpec("mx.greylist.test", "127.0.2.10", domains=("greylist.test",), greylist_seconds=1.0)


def rcpt(policy: ReplyPolicy, address: str, *, helo: str | None = "mail.home.test",
         client: str | None = None, now: float = 0.0, peer: str = "127.0.1.10",
         sender: str | None = "alice@home.test") -> str:
    return policy.recipient(address, peer=peer, sender=sender, helo=helo, client_rejection=client,
                            now=now)


def test_a_strict_host_applies_client_then_helo_then_greylisting_then_the_destination() -> None:
    policy = ReplyPolicy(STRICT)
    blocked = blocklisted_reply("127.0.1.14", "dnsbl.lab.test", "Listed for spamming lab traps")
    # client checks first: even a bad HELO is not mentioned to a blocklisted client
    assert rcpt(policy, "bob@strict.test", helo="localhost", client=blocked) == blocked
    assert rcpt(policy, "bob@strict.test", helo="localhost") == (
        "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname")
    # neither of those recorded a greylist triplet: the first triplet is seen now
    assert not policy.greylist
    assert rcpt(policy, "bob@strict.test", now=100.0).startswith("450 4.7.1 <bob@strict.test>:")
    assert rcpt(policy, "bob@strict.test", now=160.0) == "250 2.1.5 Ok"
    assert rcpt(policy, "nobody@strict.test", now=0.0).startswith("450 4.7.1")  # its own triplet
    assert rcpt(policy, "nobody@strict.test", now=61.0).startswith("550 5.1.1 <nobody@strict.test>")


def test_greylisting_counts_per_triplet_and_forget_starts_over() -> None:
    policy = ReplyPolicy(GREYLIST)
    assert rcpt(policy, "user@greylist.test", now=10.0).startswith("450 4.7.1")
    assert rcpt(policy, "user@greylist.test", now=10.9).startswith("450 4.7.1")
    assert rcpt(policy, "USER@greylist.test", now=11.0) == "250 2.1.5 Ok"  # case does not matter
    assert rcpt(policy, "user@greylist.test", now=11.0, peer="127.0.1.11").startswith("450")
    assert rcpt(policy, "user@greylist.test", now=11.0, sender="bob@home.test").startswith("450")
    policy.forget()
    assert rcpt(policy, "user@greylist.test", now=20.0).startswith("450 4.7.1")


def test_a_host_without_checks_ignores_what_they_would_say() -> None:
    policy = ReplyPolicy(HostSpec("mx1.healthy.test", "127.0.2.1", domains=("healthy.test",)))
    assert rcpt(policy, "alice@healthy.test", helo="localhost",
                client=unknown_client_reply("127.0.1.11")) == "250 2.1.5 Ok"


def test_ehlo_offers_starttls_only_before_tls_and_only_where_configured() -> None:
    policy = ReplyPolicy(HostSpec("mx1.healthy.test", "127.0.2.1"))
    lines = policy.ehlo(tls_active=False)
    assert lines[0] == "250-mx1.healthy.test" and lines[-1] == "250 SMTPUTF8"
    assert "250-STARTTLS" in lines
    assert "250-STARTTLS" not in policy.ehlo(tls_active=True)
    assert "250-STARTTLS" not in ReplyPolicy(HostSpec("mx.notls.test", "127.0.2.12",
                                                      starttls=False)).ehlo(tls_active=False)


def test_greeting_data_and_wording() -> None:
    refusing = ReplyPolicy(HostSpec("mx.banner554.test", "127.0.2.11", banner="reject",
                                    banner_name="gw.banner554.test", accept_data=False))
    assert refusing.greeting("220 x ESMTP") == "554 5.3.2 gw.banner554.test ESMTP Service unavailable"
    assert refusing.data("ABC") == "550 5.7.1 Message content rejected"
    assert ReplyPolicy(HostSpec("mx.a.test", "127.0.2.1")).data("0A1B2") == "250 2.0.0 Ok: queued as 0A1B2"
    assert postfix_wording("503 Error: send HELO first") == "503 5.5.1 Error: send HELO/EHLO first"
    assert postfix_wording('500 Error: command "XYZZY" not recognized') == (
        "502 5.5.2 Error: command not recognized")
    assert postfix_wording("501 Syntax: MAIL FROM: <address>") == "501 5.5.4 Syntax: MAIL FROM: <address>"


def test_the_log_keeps_commands_and_redacts_secrets() -> None:
    assert logged_line(b"MAIL FROM:<a@b.test>\r\n") == "MAIL FROM:<a@b.test>"
    assert logged_line(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n") == "AUTH PLAIN [redacted]"
    assert logged_line(b"AUTH LOGIN\r\n") == "AUTH LOGIN"
    assert logged_line(b"HELO \xff\r\n") == "HELO \\xff"
