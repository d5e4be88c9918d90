"""The bounce explainer: parses a reply line or a whole bounce (RFC 3464 DSN or free text),
classifies its reason, says whose side it is on and which check to run next. Pure."""
