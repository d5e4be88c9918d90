"""The diagnosis: the postmaster's decision tree as data, the rules that judge what the probes
observed, and the runner that walks the tree and reports what happens as a stream of events."""
