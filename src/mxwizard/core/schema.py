"""The version of the JSON documents mxwizard writes.

Every JSON document the tool writes (``check --format json``, ``explain``, the JSON Lines of
``explain`` in batch mode and of ``replay --format json``, session files, and each scenario of
``lab list --json``) carries ``"schema": SCHEMA_VERSION``. The number changes only when a field
is removed, renamed or changes its meaning or type; new fields may appear without a change, so
readers ignore fields they do not know. docs/json.md describes the documents field by field.
"""

from __future__ import annotations

#: The version of the JSON shape described in docs/json.md.
SCHEMA_VERSION = 1
