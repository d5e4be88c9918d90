"""The rules: pure judgements from observed facts to findings, one module per question."""
