"""The exit statuses of every command, in one place: scripts and CI read them.

``check`` and ``explain`` share their meaning: 0 nothing failed, 1 a proven fault (or a bounce
that says the mail failed), 3 the answer is incomplete (something could not be tested, or a
bounce was not recognised). 2 is a usage error of any command, always with a one-line message.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
