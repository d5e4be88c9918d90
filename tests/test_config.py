"""The shared options from the config file and MXWIZARD_<NAME> variables (mxwizard.core.config):
real files in a temporary config directory, real environment variables, the command line's
parsers, and one clear line naming the source of a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from mxwizard.core import config
from mxwizard.core.config import ConfigError, from_environment, from_file, shared_options
from mxwizard.core.inputs import InputError, parse_resolver


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty environment for mxwizard: XDG_CONFIG_HOME in tmp_path, no MXWIZARD_ variables
    of ours (others, such as the tests' own MXWIZARD_REALPEERS, may stay: they are ignored)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    for option in config.SHARED_OPTIONS:
        monkeypatch.delenv(config.env_name(option), raising=False)
    return tmp_path


def _write_config(home: Path, text: str) -> Path:
    path = home / "xdg" / "mxwizard" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_set_means_nothing_changes(home: Path) -> None:
    assert not (home / "xdg").exists()
    assert shared_options({}) == {}
    given = {"resolver": None, "dnsbl": (), "timeout": 3.0, "lab": None, "fmt": "json"}
    assert shared_options(given) == {"timeout": 3.0, "fmt": "json"}


def test_the_file_lives_in_the_xdg_config_directory(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.config_file() == home / "xdg" / "mxwizard" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(home / "user"))
    assert config.config_file() == home / "user" / ".config" / "mxwizard" / "config.toml"
    other = home / "elsewhere.toml"
    monkeypatch.setenv(config.CONFIG_ENV, str(other))
    assert config.config_file() == other


def test_every_option_from_the_file_in_the_command_lines_types(home: Path) -> None:
    ca = home / "xdg" / "mxwizard" / "ca.pem"
    _write_config(home, """
        resolver = "127.0.0.1:5353"
        smtp-port = 2525
        source_ip = "192.0.2.10"
        timeout = 2.5
        dnsbl = ["zen.spamhaus.org", "bl.spamcop.net", "ZEN.spamhaus.org"]
        private_network = true
        lab = false
        ca_file = "ca.pem"
        """)
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    assert from_file() == {
        "resolver": ("127.0.0.1", 5353), "smtp_port": 2525, "source_ip": "192.0.2.10",
        "timeout": 2.5, "dnsbl": ("zen.spamhaus.org", "bl.spamcop.net"),
        "private_network": True, "lab": False, "ca_file": str(ca),
    }
    assert from_file()["resolver"] == parse_resolver("127.0.0.1:5353")


def test_every_option_from_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = home / "ca.pem"
    ca.write_text("x", encoding="ascii")
    for name, value in {"RESOLVER": "[2001:db8::53]:53", "SMTP_PORT": "2525", "SOURCE_IP": "::1",
                        "TIMEOUT": "15", "DNSBL": " zen.spamhaus.org,bl.spamcop.net  psbl.surriel.com",
                        "PRIVATE_NETWORK": "yes", "LAB": "off", "CA_FILE": str(ca),
                        "REALPEERS": "require", "FORMAT": "json"}.items():
        monkeypatch.setenv("MXWIZARD_" + name, value)
    assert from_environment() == {
        "resolver": ("2001:db8::53", 53), "smtp_port": 2525, "source_ip": "::1", "timeout": 15.0,
        "dnsbl": ("zen.spamhaus.org", "bl.spamcop.net", "psbl.surriel.com"),
        "private_network": True, "lab": False, "ca_file": str(ca),
    }


def test_command_line_beats_environment_beats_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(home, 'timeout = 5\nsmtp_port = 2525\ndnsbl = "a.example b.example"\nlab = true\n')
    monkeypatch.setenv("MXWIZARD_TIMEOUT", "7")
    monkeypatch.setenv("MXWIZARD_DNSBL", "c.example")
    monkeypatch.setenv("MXWIZARD_LAB", "0")
    merged = shared_options({"timeout": None, "dnsbl": (), "smtp_port": None, "lab": None})
    assert merged == {"timeout": 7.0, "smtp_port": 2525, "dnsbl": ("c.example",), "lab": False}
    merged = shared_options({"timeout": 9.0, "dnsbl": ("d.example",), "lab": True})
    assert merged == {"timeout": 9.0, "smtp_port": 2525, "dnsbl": ("d.example",), "lab": True}


def test_an_empty_variable_counts_as_unset(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(home, "timeout = 5\n")
    monkeypatch.setenv("MXWIZARD_TIMEOUT", "  ")
    assert shared_options({}) == {"timeout": 5.0}


@pytest.mark.parametrize(("name", "value", "start"), [
    ("TIMEOUT", "0", "MXWIZARD_TIMEOUT: the timeout must be between 0 and 600 seconds, not 0"),
    ("TIMEOUT", "soon", "MXWIZARD_TIMEOUT: the timeout 'soon' is not a number of seconds"),
    ("SMTP_PORT", "70000", "MXWIZARD_SMTP_PORT: the SMTP port 70000 is out of range"),
    ("RESOLVER", "dns.example", "MXWIZARD_RESOLVER: the resolver must be an IP address"),
    ("SOURCE_IP", "10.0.0", "MXWIZARD_SOURCE_IP: '10.0.0' is not a valid source IP address"),
    ("DNSBL", "zen.spamhaus.org,bad_zone!", "MXWIZARD_DNSBL: 'bad_zone!' is not a valid blocklist zone"),
    ("DNSBL", " , ", "MXWIZARD_DNSBL: dnsbl names no blocklist zone"),
    ("LAB", "maybe", "MXWIZARD_LAB: lab must be true or false"),
    ("CA_FILE", "/nonexistent/ca.pem", "MXWIZARD_CA_FILE: there is no CA file '/nonexistent/ca.pem'"),
])
def test_a_bad_variable_is_one_line_naming_it(home: Path, monkeypatch: pytest.MonkeyPatch,
                                             name: str, value: str, start: str) -> None:
    monkeypatch.setenv("MXWIZARD_" + name, value)
    with pytest.raises(ConfigError) as caught:
        shared_options({})
    message = str(caught.value)
    assert "\n" not in message and message.startswith(start)
    assert isinstance(caught.value, InputError)  # the command line's handler: one line, exit 2


def test_the_command_line_does_not_hide_a_bad_variable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken environment is said even when the command line gives the same option: the
    user should learn about it before the day they leave the option out."""
    monkeypatch.setenv("MXWIZARD_TIMEOUT", "-1")
    with pytest.raises(ConfigError, match=r"^MXWIZARD_TIMEOUT: "):
        shared_options({"timeout": 3.0})


@pytest.mark.parametrize(("text", "expected"), [
    ("timeout = 0\n", ": timeout: the timeout must be between 0 and 600 seconds"),
    ("timeout = true\n", ": timeout: timeout must be a number, not a boolean"),
    ("smtp-port = 0\n", ": smtp-port: the SMTP port 0 is out of range"),
    ("resolver = 53\n", ": resolver: resolver must be a string, not a number"),
    ("dnsbl = [1, 2]\n", ": dnsbl: dnsbl must be a list of zones or a string of zones"),
    ('private_network = "sometimes"\n', ": private_network: private_network must be true or false"),
    ('ca_file = "missing.pem"\n', ": ca_file: there is no CA file"),
    ('timout = 5\n', ": unknown setting 'timout' (known: resolver, smtp_port, "),
    ('smtp_port = 25\nsmtp-port = 26\n', ": 'smtp-port' is set twice"),
    ("timeout = \n", ": not valid TOML ("),
])
def test_a_bad_file_is_one_line_naming_the_file_and_key(home: Path, text: str, expected: str) -> None:
    path = _write_config(home, text)
    with pytest.raises(ConfigError) as caught:
        shared_options({})
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert expected in message, message


def test_a_file_that_is_not_utf8_or_not_a_file(home: Path) -> None:
    path = home / "xdg" / "mxwizard" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"resolver = '\xff'\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        from_file()
    path.unlink()
    path.mkdir()
    with pytest.raises(ConfigError, match="is a directory, not a regular file"):
        from_file()


def test_a_named_config_file_must_exist(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = home / "missing.toml"
    monkeypatch.setenv(config.CONFIG_ENV, str(missing))
    with pytest.raises(ConfigError, match=r"^MXWIZARD_CONFIG: there is no config file"):
        shared_options({})
    with pytest.raises(ConfigError, match="there is no config file"):
        from_file(missing)
    named = home / "team.toml"
    named.write_text('source_ip = "192.0.2.7"\n', encoding="utf-8")
    monkeypatch.setenv(config.CONFIG_ENV, str(named))
    assert shared_options({}) == {"source_ip": "192.0.2.7"}


def test_an_oversized_config_file_is_refused_unread(home: Path) -> None:
    _write_config(home, "# " + "x" * config.MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match="larger than"):
        from_file()
