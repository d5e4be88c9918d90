"""The renderers: the JSON shape of DESIGN.md §2, and no raw remote text in any format."""

from __future__ import annotations

import json

from mxwizard.core.findings import Finding, Side, Status
from mxwizard.core.transcript import Direction, Transcript, TranscriptLine
from mxwizard.diagnosis.result import Diagnosis
from mxwizard.probes.dns import Lookup, Outcome, Record
from mxwizard.render.report import to_json, to_markdown, to_text

HOSTILE = "554 \x1b]2;owned\x07 [bold red]go away[/] \u202eevil"


def sample() -> Diagnosis:
    transcript = Transcript("mx.example.test", "127.0.2.1", 25)
    transcript.add(TranscriptLine(3.2, Direction.SERVER, HOSTILE, "the server refuses"))
    lookup = Lookup(
        "example.test", "MX", "127.0.0.1:5353", Outcome.ANSWER,
        answer=(Record("example.test.", 300, "MX", "10 mx.example.test.", (10, "mx.example.test")),),
        t_ms=1.0, ms=0.8,
    )
    return Diagnosis(
        kind="receive",
        target={"domain": "example.test", "shown": "example.test"},
        findings=[
            Finding("mx.ok", Status.PASS, "MX records found", step="mx"),
            Finding("smtp.banner-reject", Status.FAIL, "The server refuses all mail",
                    detail="It said: " + HOSTILE, fix="Ask them.", side=Side.THEM,
                    evidence=(HOSTILE,), step="smtp"),
        ],
        transcripts=[transcript],
        lookups=[lookup],
        elapsed_ms=12.3,
    )


def test_json_has_the_documented_shape() -> None:
    data = json.loads(to_json(sample()))
    assert set(data) == {"schema", "mxwizard", "kind", "target", "verdict", "findings", "transcripts",
                         "dns", "elapsed_ms"}
    assert data["verdict"] == {"status": "fail", "summary": "The server refuses all mail",
                               "side": "them"}
    assert set(data["findings"][0]) == {"id", "status", "title", "detail", "fix", "side",
                                        "evidence", "step"}
    line = data["transcripts"][0]["lines"][0]
    assert {"t_ms", "dir", "text", "note"} <= set(line) and line["dir"] == "S"
    assert "\x1b" not in line["text"] and "\\e]2;owned" in line["text"]
    assert data["dns"][0]["rcode"] == "NOERROR"
    assert data["dns"][0]["answers"] == ["example.test. 300 IN MX 10 mx.example.test."]


def test_text_and_markdown_never_carry_control_characters() -> None:
    for rendered in (to_text(sample()), to_markdown(sample())):
        assert "\x1b" not in rendered and "\x07" not in rendered and "\u202e" not in rendered
        assert "The server refuses all mail" in rendered
        assert "Their side" in rendered


def test_text_groups_problems_by_side_then_what_is_right() -> None:
    text = to_text(sample())
    assert text.index("Their side") < text.index("What is right") < text.index("DNS lookups")
    assert "✖ FAIL" in text and "✔ PASS" in text
