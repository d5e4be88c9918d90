"""The SMTP probe: the recording protocol, the session driver, its typed facts, TLS."""
