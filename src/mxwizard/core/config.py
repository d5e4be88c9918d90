"""Defaults for the shared options: a TOML file and ``MXWIZARD_<NAME>`` environment variables.

The shared options (``--resolver``, ``--smtp-port``, ``--source-ip``, ``--timeout``, ``--dnsbl``,
``--private-network``, ``--lab``, ``--ca-file``) may also come from

- the environment: ``MXWIZARD_RESOLVER``, ``MXWIZARD_SMTP_PORT``, ``MXWIZARD_SOURCE_IP``,
  ``MXWIZARD_TIMEOUT``, ``MXWIZARD_DNSBL`` (zones separated by commas or white space),
  ``MXWIZARD_PRIVATE_NETWORK``, ``MXWIZARD_LAB`` (``1``/``true``/``yes``/``on`` or
  ``0``/``false``/``no``/``off``) and ``MXWIZARD_CA_FILE``; an empty variable counts as unset;
- a config file, ``config.toml`` in mxwizard's config directory (``$XDG_CONFIG_HOME/mxwizard``,
  ``~/.config/mxwizard`` when the variable is unset), or the file named by ``MXWIZARD_CONFIG``.
  A missing file is no error (the file is optional); one named by ``MXWIZARD_CONFIG`` must exist.

The command line wins, then the environment, then the file (:func:`shared_options`). Every value
goes through the same parser as the command line (:mod:`mxwizard.core.inputs`), and a bad one is
refused with one line that says where it came from ("MXWIZARD_TIMEOUT: the timeout must be ..."),
as a :class:`ConfigError`, which is an :class:`~mxwizard.core.inputs.InputError`: the command
line's error handling already turns it into that line and exit status 2.

Why not platformdirs: the wizard already keeps its remembered form values in
``$XDG_CONFIG_HOME/mxwizard/last.json`` (``ui/form_memory.py``), and the config file belongs
beside them; platformdirs would put it elsewhere on macOS and Windows (``~/Library/Application
Support``, ``%APPDATA%``), so the two files would part, and it would be one more dependency for
one directory name. Administrators over SSH look in ``~/.config`` first.

Nothing here touches the network or Textual, and nothing is read until a function is called.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mxwizard.core.inputs import (
    InputError,
    parse_ca_file,
    parse_domain,
    parse_ip,
    parse_port,
    parse_resolver,
    parse_timeout,
    read_regular_file,
    regular_file,
)
from mxwizard.core.untrusted import visible

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with tomli (a dependency there only)
    import tomli as tomllib

#: The names of the shared options, as the command line's parameters are called.
SHARED_OPTIONS = ("resolver", "smtp_port", "source_ip", "timeout", "dnsbl", "private_network",
                  "lab", "ca_file")
#: The prefix of their environment variables: ``MXWIZARD_TIMEOUT`` for ``timeout``.
ENV_PREFIX = "MXWIZARD_"
#: The variable that names another config file.
CONFIG_ENV = "MXWIZARD_CONFIG"
#: The config file's name in the config directory.
CONFIG_NAME = "config.toml"
#: The largest config file read (a real one is a few hundred bytes).
MAX_CONFIG_BYTES = 1024 * 1024

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_ZONE_SEPARATORS = re.compile(r"[\s,]+")


class ConfigError(InputError):
    """A value from the environment or the config file is malformed; the message is one line
    that starts with where the value came from."""


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """mxwizard's config directory (XDG base directory rules; the wizard's form memory lives
    there too)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mxwizard"


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The config file read: ``$MXWIZARD_CONFIG`` when set, else ``config.toml`` in
    :func:`config_dir`."""
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV)
    return Path(os.path.expanduser(named)) if named else config_dir(env) / CONFIG_NAME


def env_name(option: str) -> str:
    """The environment variable of a shared option: ``smtp_port`` -> ``MXWIZARD_SMTP_PORT``."""
    return ENV_PREFIX + option.upper()


# --- parsing one value ----------------------------------------------------------------------


def _boolean(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InputError(f"{what} must be true or false (1/0, yes/no, on/off), not "
                     f"'{visible(str(value), 40)}'")


def _text(value: object, what: str) -> str:
    """A value that must be text (in TOML: a string; numbers are accepted where the option is
    a number, see :func:`_number_text`)."""
    if isinstance(value, str):
        return value
    raise InputError(f"{what} must be a string, not {_toml_type(value)}")


def _number_text(value: object, what: str) -> str:
    """A number given as a TOML number or as text, as the text the command line would see."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number, not a boolean")
    if isinstance(value, (int, float)):
        return repr(value)
    return _text(value, what)


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _zones(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        words = [w for w in _ZONE_SEPARATORS.split(value) if w]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        words = [w for v in value for w in _ZONE_SEPARATORS.split(v) if w]
    else:
        raise InputError(f"dnsbl must be a list of zones or a string of zones, not {_toml_type(value)}")
    if not words:
        raise InputError("dnsbl names no blocklist zone")
    zones: list[str] = []
    for word in words:
        zone = parse_domain(word, "blocklist zone").ascii
        if zone not in zones:
            zones.append(zone)
    return tuple(zones)


def _ca_file(value: object) -> str:
    return parse_ca_file(_text(value, "ca_file"))


#: Each shared option's parser: from what the environment or the file holds to what the command
#: line's callback would have made of the same words.
PARSERS: dict[str, Callable[[object], Any]] = {
    "resolver": lambda v: parse_resolver(_text(v, "resolver")),
    "smtp_port": lambda v: parse_port(_number_text(v, "smtp_port"), "SMTP port"),
    "source_ip": lambda v: parse_ip(_text(v, "source_ip"), "source IP address"),
    "timeout": lambda v: parse_timeout(_number_text(v, "timeout")),
    "dnsbl": _zones,
    "private_network": lambda v: _boolean(v, "private_network"),
    "lab": lambda v: _boolean(v, "lab"),
    "ca_file": _ca_file,
}


def parse_value(option: str, value: object, where: str) -> Any:
    """``value`` of ``option`` parsed as the command line would; a bad one raises
    :class:`ConfigError` with ``where`` in front ("MXWIZARD_TIMEOUT: the timeout must be...")."""
    try:
        return PARSERS[option](value)
    except InputError as exc:
        raise ConfigError(f"{where}: {exc}") from None


# --- the two sources --------------------------------------------------------------------------


#: Where the lab listens (``--lab`` and the wizard's lab; ``lab serve`` has its own options):
#: ``documented`` (the default) takes the documented ports when they are free and says when it had
#: to move; ``free`` always picks free ones, for several labs at once on one machine (a parallel
#: test run, a class sharing one server), where the documented ports are nobody's in particular.
LAB_PORTS_ENV = ENV_PREFIX + "LAB_PORTS"
LAB_PORT_CHOICES = ("documented", "free")


def lab_ports(environ: Mapping[str, str] | None = None) -> int | None:
    """The port to ask each of the lab's servers for, from ``MXWIZARD_LAB_PORTS``
    (:data:`LAB_PORTS_ENV`): None for ``documented`` (the lab's default: the documented ports
    when free), 0 (a free port) for ``free``."""
    env = os.environ if environ is None else environ
    raw = env.get(LAB_PORTS_ENV, "").strip().lower() or LAB_PORT_CHOICES[0]
    if raw not in LAB_PORT_CHOICES:
        raise ConfigError(f"{LAB_PORTS_ENV}: the lab's ports must be 'documented' or 'free', "
                          f"not '{visible(raw, 40)}'")
    return 0 if raw == "free" else None


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The shared options set in the environment (``MXWIZARD_<NAME>``), parsed. Empty variables
    count as unset; other ``MXWIZARD_`` variables are not this module's business."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for option in SHARED_OPTIONS:
        name = env_name(option)
        raw = env.get(name)
        if raw is None or not raw.strip():
            continue
        found[option] = parse_value(option, raw.strip(), name)
    return found


def from_file(path: str | os.PathLike[str] | None = None, *,
              environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The shared options set in the config file, parsed ({} when the default file does not
    exist). ``path`` defaults to :func:`config_file`; a file named by ``MXWIZARD_CONFIG`` or
    given as ``path`` must exist. Keys may be spelled as in the command line too (``smtp-port``);
    an unknown key is an error, so a typo is not silently ignored."""
    env = os.environ if environ is None else environ
    explicit = path is not None or bool(env.get(CONFIG_ENV))
    file = Path(path) if path is not None else config_file(env)
    shown = visible(str(file), 200)
    if not explicit and not file.exists():
        return {}
    try:
        data = read_regular_file(regular_file(str(file), "config file"), MAX_CONFIG_BYTES,
                                 "config file")
    except InputError as exc:
        where = f"{CONFIG_ENV}: " if path is None and explicit else ""
        raise ConfigError(f"{where}{exc}") from None
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({visible(str(exc), 200)})") from None
    found: dict[str, Any] = {}
    for key, value in table.items():
        option = key.replace("-", "_")
        if option not in PARSERS:
            known = ", ".join(SHARED_OPTIONS)
            raise ConfigError(f"{shown}: unknown setting '{visible(key, 60)}' (known: {known})")
        if option in found:
            raise ConfigError(f"{shown}: '{visible(key, 60)}' is set twice")
        if option == "ca_file" and isinstance(value, str) and value:
            # a relative CA file is found beside the config file, not in whatever directory
            # the command happens to run in
            value = str(file.parent / os.path.expanduser(value))
        found[option] = parse_value(option, value, f"{shown}: {key}")
    return found


# --- the merge the command line calls ----------------------------------------------------------


def _given(value: Any) -> bool:
    """Whether a command-line value was given (click leaves unset options None, ``multiple``
    options an empty tuple)."""
    return value is not None and value != ()


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Layers from weakest to strongest: a later layer's given value replaces an earlier one's
    (whole: ``dnsbl`` from the command line replaces the environment's list, it does not add)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if _given(v)})
    return merged


def shared_options(command_line: Mapping[str, Any], *,
                   environ: Mapping[str, str] | None = None,
                   path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The shared options with every source applied: command line > environment > file.

    ``command_line`` is what click parsed (unset options as None or ``()``), e.g. the merged
    root and command options of ``cli._settings``; its other keys pass through untouched. The
    result holds only what some source set, in the command line's types (``resolver`` an
    ``(ip, port)`` tuple, ``dnsbl`` a tuple of zones, ``timeout`` a float...), ready for
    ``Settings``. Raises :class:`ConfigError` (an ``InputError``) for a bad value, naming
    where it came from."""
    env = os.environ if environ is None else environ
    return merge(from_file(path, environ=env), from_environment(env), command_line)
