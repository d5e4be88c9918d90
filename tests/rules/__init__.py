"""Unit tests of the diagnosis rules on facts recorded from the lab, without a network."""
