"""Reference knowledge as code: SMTP reply and enhanced status codes, provider rejection texts,
blocklist zones and their return codes. Pure data and lookups, shared by the annotator, the
bounce explainer and the rules, so a fact is written down once."""
