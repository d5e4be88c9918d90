"""``mxwizard serve``: loopback by default, a loud warning otherwise, the right command."""

from __future__ import annotations

import sys

import pytest

from mxwizard.ui.web import is_loopback, no_auth_warning, serve_command


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_warning(host: str) -> None:
    assert is_loopback(host)
    assert no_auth_warning(host, 8000) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "2001:db8::1", "example.org"])
def test_other_addresses_warn_about_missing_authentication(host: str) -> None:
    warning = no_auth_warning(host, 8000)
    assert warning is not None and "WITHOUT ANY AUTHENTICATION" in warning and host in warning


def test_the_served_command_is_this_python_and_passes_the_lab_flag() -> None:
    assert serve_command(False).split() == [sys.executable, "-m", "mxwizard"]
    assert serve_command(True).split()[-1] == "--lab"
