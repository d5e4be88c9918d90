#!/usr/bin/env python3
"""Write mxwizard(1), the manual page, from the click command tree.

    python scripts/man.py > mxwizard.1        # then: man ./mxwizard.1

Every command, with its usage, its description and its options, comes from the same click objects
that ``--help`` prints, so the page cannot drift from the program; the exit statuses and the
environment are the documented ones (docs/exit-codes.md, docs/configuration.md). The troff is
written here, plain man(7) macros, so no tool beyond mxwizard itself is needed. The date on the
page is SOURCE_DATE_EPOCH's when set (reproducible builds), else today's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Iterator

import click

from mxwizard import __version__
from mxwizard.cli import cli
from mxwizard.core import config

DESCRIPTION = (
    "mxwizard walks down the decision tree an experienced postmaster uses when mail does not "
    "get through: does the domain have MX records and where do they point, does the server "
    "answer on port 25, does the HELO name match the reverse DNS of the address, is the address "
    "on a blocklist, is the server an open relay, do SPF, DKIM and DMARC hold. Every step runs a "
    "live probe; every fault says whose side it is on (yours, theirs or the network's) and the "
    "exact fix, and the SMTP conversation is shown line by line with what each line means.",
    "Without a command, mxwizard starts the wizard in the terminal (keyboard only, 80x24). The "
    "check commands print a report as text, Markdown or JSON; explain reads replies, bounces and "
    "mail logs; the built-in lab is a miniature mail internet on loopback for learning and "
    "testing, with no internet needed.",
)

EXIT_STATUS = (
    ("0", "Done, and nothing failed."),
    ("1", "A fault was found: at least one finding has the status fail."),
    ("2", "Bad input or usage: nothing was checked; one line on standard error says what."),
    ("3", "The diagnosis could not be completed: no finding failed, but something could not be "
          "tested (a finding with the status error), or nothing could be recognised."),
    ("130", "Interrupted (Ctrl-C)."),
)

#: Said under ENVIRONMENT: which commands apply the variables and the file.
CONFIG_NOTE = ("check, explain, the wizard and serve all apply them.")

_OPTION_FOR_ENV = {
    "resolver": "--resolver", "smtp_port": "--smtp-port", "source_ip": "--source-ip",
    "timeout": "--timeout", "dnsbl": "--dnsbl (zones separated by commas or white space)",
    "private_network": "--private-network (1/0, true/false, yes/no, on/off)",
    "lab": "--lab (as above)", "ca_file": "--ca-file",
}


def escape(text: str) -> str:
    """Text for a troff line: backslashes and hyphens escaped, no line starting a request,
    characters beyond ASCII as named Unicode escapes."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    out = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in out)
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in out.split("\n"))


def _option_words(opts: str) -> str:
    """``--resolver IP[:PORT]`` as bold option names and an italic value."""
    words = []
    for word in opts.split(" "):
        bare = word.rstrip(",")
        comma = "," if word.endswith(",") else ""
        if bare.startswith("-"):
            words.append(f"\\fB{escape(bare)}\\fR{comma}")
        else:
            words.append(f"\\fI{escape(bare)}\\fR{comma}")
    return " ".join(words)


def commands(group: click.Group) -> Iterator[tuple[list[str], click.Command, click.Context]]:
    """Every command under ``group`` with its name path and a context, depth first, in the
    order click lists them."""
    root = group.make_context("mxwizard", [], resilient_parsing=True)
    yield [], group, root

    def walk(cmd: click.Group, ctx: click.Context, path: list[str]) -> Iterator[
            tuple[list[str], click.Command, click.Context]]:
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
            yield [*path, name], sub, sub_ctx
            if isinstance(sub, click.Group):
                yield from walk(sub, sub_ctx, [*path, name])

    yield from walk(group, root, [])


def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    cleaned = text.split("\f", 1)[0]
    return [" ".join(p.split()) for p in cleaned.split("\n\n") if p.strip()]


def _options(cmd: click.Command, ctx: click.Context) -> list[str]:
    lines: list[str] = []
    for param in cmd.get_params(ctx):
        if not isinstance(param, click.Option):
            continue  # arguments are in the usage line
        record = param.get_help_record(ctx)
        if record is None:
            continue
        opts, help_text = record
        lines += [".TP", _option_words(opts), escape(" ".join(help_text.split())) or "\\&"]
    return lines


def _usage(path: list[str], cmd: click.Command, ctx: click.Context) -> str:
    """The usage line: the command in bold, then what it takes (one troff line)."""
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    name = " ".join(["mxwizard", *path])
    return f"\\fB{escape(name)}\\fR {escape(pieces)}".rstrip()


def manual(date: str) -> str:
    """The whole page, as troff source."""
    out = [
        f'.TH MXWIZARD 1 "{date}" "mxwizard {escape(__version__)}" "User Commands"',
        ".SH NAME",
        "mxwizard \\- why doesn't my mail get through?",
        ".SH SYNOPSIS",
    ]
    tree = list(commands(cli))
    for index, (path, cmd, ctx) in enumerate(tree):
        if isinstance(cmd, click.Group) and path:
            continue  # a group only holds commands: its commands' lines say it all
        if index:
            out.append(".br")
        out.append(_usage(path, cmd, ctx))
    out.append(".SH DESCRIPTION")
    for paragraph in DESCRIPTION:
        out += [".PP", escape(paragraph)]
    _, root_cmd, root_ctx = tree[0]
    out += [".SH OPTIONS",
            "These options go before the command; the shared network options are also accepted "
            "after the check and explain commands, and apply to the wizard that serve serves."]
    out += _options(root_cmd, root_ctx)
    out.append(".SH COMMANDS")
    for path, cmd, ctx in tree[1:]:
        out.append(f'.SS "{escape(" ".join(["mxwizard", *path]))}"')
        out += [_usage(path, cmd, ctx)]
        for paragraph in _paragraphs(cmd.help):
            out += [".PP", escape(paragraph)]
        if isinstance(cmd, click.Group):
            names = ", ".join(cmd.list_commands(ctx))
            out += [".PP", escape(f"Commands: {names}.")]
        options = _options(cmd, ctx)
        if options and not isinstance(cmd, click.Group):  # a group has only --help
            out += [".PP", "Options:", *options]
    out.append(".SH EXIT STATUS")
    for status, meaning in EXIT_STATUS:
        out += [".TP", f"\\fB{status}\\fR", escape(meaning)]
    out += [".PP", escape("A proven fault outranks an unknown: a report with both a fail and an "
                          "error finding exits 1.")]
    out.append(".SH ENVIRONMENT")
    for option in config.SHARED_OPTIONS:
        out += [".TP", f"\\fB{escape(config.env_name(option))}\\fR",
                escape(f"Default for {_OPTION_FOR_ENV.get(option, option)}.")]
    out += [".TP", f"\\fB{escape(config.CONFIG_ENV)}\\fR",
            escape("Read this config file instead of the default one; it must exist."),
            ".TP", "\\fBXDG_CONFIG_HOME\\fR",
            escape("The base of mxwizard's config directory (default ~/.config): "
                   "mxwizard/config.toml holds defaults for the shared options, "
                   "mxwizard/last.json the wizard's last form values."),
            ".TP", "\\fB_MXWIZARD_COMPLETE\\fR",
            escape("Set by the shell completion scripts: bash_source, zsh_source or fish_source "
                   "prints the completion script for that shell, for example "
                   "eval \"$(_MXWIZARD_COMPLETE=bash_source mxwizard)\" in ~/.bashrc."),
            ".TP", "\\fBNO_COLOR\\fR",
            escape("When set, the wizard does without colours; every status also shows as a "
                   "word or a symbol."),
            ".PP", escape("Precedence: command line, then environment, then config file. "
                          + CONFIG_NOTE)]
    out += [".SH FILES",
            ".TP", escape("~/.config/mxwizard/config.toml"),
            escape("Defaults for the shared options (TOML); see ENVIRONMENT."),
            ".TP", escape("~/.config/mxwizard/last.json"),
            escape("The last values typed into the wizard's forms."),
            ".SH SEE ALSO",
            "\\fBdig\\fR(1), \\fBswaks\\fR(1)"]
    return "\n".join(out) + "\n"


def _date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    return when.strftime("%Y-%m-%d")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the mxwizard(1) manual page (troff).")
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    page = manual(_date())
    if args.output:
        with open(args.output, "w", encoding="ascii") as handle:
            handle.write(page)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
