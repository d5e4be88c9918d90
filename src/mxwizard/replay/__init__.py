"""Saved sessions and lessons, free of Textual: session files, timed playback, step-through logic."""
