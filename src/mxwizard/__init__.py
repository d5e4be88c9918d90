"""mxwizard: answers "why doesn't my mail get through?" in a terminal.

The package is layered so that data flows one way: ``probes`` observe the network, ``diagnosis``
judges what they saw, and ``report`` (headless) or ``ui`` (Textual) shows the result. Only ``ui``
imports Textual, so the headless ``check``/``explain``/``lab`` commands start fast.
"""

__version__ = "0.1.0"
