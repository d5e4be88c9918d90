"""The headless path never imports Textual: `check`, `explain`, `replay` and `lab` must start fast."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_headless_commands_import_no_textual() -> None:
    script = textwrap.dedent(
        """
        import json, os, sys, tempfile
        from mxwizard.cli import main
        import mxwizard.diagnosis.runner, mxwizard.render.report, mxwizard.probes.dns
        import mxwizard.bounces.explain, mxwizard.core.transcript, mxwizard.render.dnsview
        import mxwizard.replay.session_files
        session = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"transcripts": [{"host": "mx.example.org", "ip": "192.0.2.1", "port": 25,
                   "lines": [{"t_ms": 0, "dir": "S", "text": "220 replayed headless"}]}]}, session)
        session.close()
        for args in (["replay", "--help"], ["replay", session.name, "--speed", "0"],
                     ["replay", "/nonexistent.json"], ["check", "receive", "--help"],
                     ["check", "send", "--help"], ["check", "relay", "--help"], ["explain", "--help"],
                     ["lab", "list", "--help"],
                     ["lab", "serve", "--help"], ["check", "receive", "bad domain"],
                     ["lab", "list", "--json"], ["check", "receive", "healthy.test", "--lab"],
                     ["check", "relay", "relay.open.test", "--lab"],
                     ["explain", "550 5.1.1 <bob@example.com>: User unknown"]):
            try:
                main(args)
            except SystemExit:
                pass
        os.unlink(session.name)
        loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
        print("TEXTUAL:" + ",".join(loaded))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "TEXTUAL:\n" in done.stdout, done.stdout[-500:]
    assert "mx1.healthy.test accepts mail for healthy.test" in done.stdout  # the check really ran
    assert "<- 220 replayed headless" in done.stdout  # and so did the replay
