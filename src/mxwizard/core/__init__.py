"""The foundations every layer uses: settings, inputs, untrusted text, findings, transcripts."""
