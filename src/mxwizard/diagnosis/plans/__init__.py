"""The plans: which probes each check runs, in which order (the trees of receive, send, relay)."""
