"""The Textual wizard. The only package that imports Textual; it consumes the runner's events."""
