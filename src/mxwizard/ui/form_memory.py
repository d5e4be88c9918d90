"""What the wizard remembers between runs: the last values typed into each form.

Stored as a small JSON file, ``$XDG_CONFIG_HOME/mxwizard/last.json`` (``~/.config/...`` when the
variable is unset). Nothing secret is ever typed into the forms, and a missing, unreadable or
corrupt file is simply treated as empty: remembering is a convenience, never a reason to fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def config_dir() -> Path:
    """The directory for mxwizard's settings (XDG base directory rules, no extra dependency)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mxwizard"


def memory_file() -> Path:
    """The file with the last form values."""
    return config_dir() / "last.json"


def load() -> dict[str, dict[str, str]]:
    """The remembered values by check kind (empty when there are none or the file is unusable)."""
    try:
        data = json.loads(memory_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(kind): {str(k): str(v) for k, v in values.items() if isinstance(v, str)}
        for kind, values in data.items()
        if isinstance(values, dict)
    }


def save(kind: str, values: dict[str, str]) -> None:
    """Remember ``values`` for ``kind`` (errors are ignored: the wizard works without it)."""
    data = load()
    data[kind] = {k: v for k, v in values.items() if v}
    path = memory_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
