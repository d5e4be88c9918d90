"""Renderers of a finished diagnosis: text, Markdown and JSON reports, dig-style lookups."""
