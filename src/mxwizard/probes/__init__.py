"""Probes: network I/O only. They ask DNS servers and SMTP servers questions and return typed
facts, never judgements, and never import Textual. Every dependency (server address, port, source
address, timeout, TLS context, concurrency slots) is an argument, so tests aim them at the lab."""
