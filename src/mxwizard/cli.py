"""The command line: ``mxwizard`` (the TUI), ``check``, ``explain``, ``replay``, ``lab`` and ``serve``.

Every argument is validated before anything touches the network, and every usage problem is
answered with one line on stderr and exit status 2 — never a traceback. Heavy modules (dnspython,
aiosmtplib, Textual) are imported inside the commands that need them, so ``--version`` and
``--help`` are instant and the headless commands never pay for Textual.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mxwizard import __version__
from mxwizard.core.exits import EXIT_USAGE
from mxwizard.core.inputs import (
    InputError,
    parse_blocklist_zone,
    parse_ca_file,
    parse_ip,
    parse_port,
    parse_resolver,
    parse_timeout,
)
from mxwizard.core.settings import DEFAULT_TIMEOUT, PRIVATE_NETWORKS, Settings
from mxwizard.diagnosis.checks import CHECKS, Check
from mxwizard.lab import LAB_DNS_PORT, LAB_SMTP_PORT

if TYPE_CHECKING:
    from mxwizard.diagnosis.tree import Plan

F = TypeVar("F", bound=Callable[..., Any])


def _parsed(parser: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """Adapt an ``inputs`` parser to a click callback (None and tuples pass through)."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            if isinstance(value, tuple):
                return tuple(parser(v) for v in value)
            return parser(value)
        except InputError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def network_options(func: F) -> F:
    """The options shared by ``check``, ``explain`` and the TUI (DESIGN.md §2)."""
    options = [
        click.option("--resolver", metavar="IP[:PORT]", callback=_parsed(parse_resolver),
                     help="DNS server to ask (default: the system's)."),
        click.option("--smtp-port", metavar="N", callback=_parsed(parse_port),
                     help="Port SMTP probes connect to (default 25)."),
        click.option("--source-ip", metavar="IP", callback=_parsed(parse_ip),
                     help="Local address SMTP probes connect from."),
        click.option("--timeout", metavar="SECONDS", callback=_parsed(parse_timeout),
                     help=f"Time allowed per network step (default {DEFAULT_TIMEOUT:g})."),
        click.option("--dnsbl", "dnsbl", metavar="ZONE", multiple=True,
                     callback=_parsed(parse_blocklist_zone),
                     help="Blocklist zone to query (repeatable; replaces the default set)."),
        click.option("--lab", is_flag=True, default=None,
                     help="Start the built-in lab and point everything at it."),
        click.option("--private-network", is_flag=True, default=None,
                     help="The servers and addresses are on a private network you control "
                          "(intranet, classroom): private and loopback addresses are not "
                          "faults, and every check runs on them."),
        click.option("--ca-file", metavar="FILE", callback=_parsed(parse_ca_file),
                     help="Also trust the CA certificates in this PEM file (a private CA) when "
                          "judging MX and MTA-STS certificates."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def detail_options(func: F) -> F:
    """``-q`` and ``-v``: how much a text report says (render.report.DETAIL_LEVELS)."""
    func = click.option("-v", "--verbose", is_flag=True,
                        help="Also every DNS answer, with its timing.")(func)
    return click.option("-q", "--quiet", is_flag=True,
                        help="Only the verdict and the failures, with their fixes.")(func)


def _examples(lines: Sequence[str]) -> str:
    """An "Examples" epilog that click prints as written (\\b keeps its line breaks)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines) if lines else ""


def format_option(func: F) -> F:
    """``--format text|json|markdown`` for commands that print a report."""
    return click.option(
        "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
        show_default=True, help="Output format.",
    )(func)


def _settings(ctx: click.Context, **given: Any) -> tuple[Settings, bool]:
    """Merge a command's network options over the root's; returns (settings, lab wanted)."""
    from mxwizard.core.config import lab_ports, shared_options

    merged: dict[str, Any] = {}
    for source in (ctx.find_root().meta.get("network", {}), given):
        merged.update({k: v for k, v in source.items() if v is not None and v != ()})
    # the command line wins, then MXWIZARD_* variables, then the config file (docs/configuration.md)
    merged = shared_options(merged)
    lab = bool(merged.pop("lab", False))
    if lab:
        lab_ports()  # a bad MXWIZARD_LAB_PORTS is one line before anything starts (the TUI too)
    dnsbl = merged.pop("dnsbl", None)
    own = PRIVATE_NETWORKS if merged.pop("private_network", False) else ()
    settings = Settings(**merged, dnsbl_zones=tuple(dnsbl) if dnsbl else None, own_networks=own)
    return settings, lab


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_examples(["mxwizard --lab                  the wizard, against the built-in lab",
                               "mxwizard check receive example.org",
                               "mxwizard explain --file bounce.eml",
                               "",
                               "Defaults for the options above: MXWIZARD_RESOLVER, MXWIZARD_TIMEOUT...",
                               "and ~/.config/mxwizard/config.toml (the command line wins)."]))
@click.version_option(__version__, "--version", prog_name="mxwizard")
@network_options
@click.pass_context
def cli(ctx: click.Context, /, **network: Any) -> int | None:
    """Why doesn't my mail get through? Without a command, starts the wizard."""
    ctx.meta["network"] = network
    if ctx.invoked_subcommand is not None:
        return None
    settings, lab = _settings(ctx)
    return _run_tui(settings, lab)


def _run_tui(settings: Settings, lab: bool) -> int:
    from mxwizard.ui.app import run_app

    return run_app(settings, lab)


@cli.group(short_help="Diagnose receiving, sending or relaying; print a report")
def check() -> None:
    """Diagnose one thing headlessly and print a report (exit 0 ok, 1 fail, 3 incomplete)."""
    _library_warnings_off()


def _library_warnings_off() -> None:
    """Keep library warnings off stderr, which carries only our one-line messages: cryptography
    warns (CryptographyDeprecationWarning, with its install path) about a server's malformed
    certificate, which is the server's fact, not the user's error. ``python -W ...`` or
    PYTHONWARNINGS still shows them, for developers."""
    if not sys.warnoptions:
        warnings.simplefilter("ignore")


def _run_check(make_plan: Callable[[], Plan], settings: Settings, lab: bool, fmt: str,
               detail: str = "normal") -> int:
    from mxwizard.diagnosis.runner import diagnose
    from mxwizard.render.report import render

    async def main() -> int:
        nonlocal settings
        if lab:
            from mxwizard.core.config import lab_ports
            from mxwizard.lab.world import running_lab

            port = lab_ports()
            async with running_lab(dns_port=port, smtp_port=port, https_port=port) as world:
                settings = world.point(settings)
                diagnosis = await diagnose(make_plan(), settings)
        else:
            diagnosis = await diagnose(make_plan(), settings)
        sys.stdout.write(render(diagnosis, fmt, detail))
        return diagnosis.exit_status

    return asyncio.run(main())


def _check_command(check: Check) -> click.Command:
    """``check KIND``, built from the check's entry in the registry: an argument or option per
    field (parsed by the field's own parser), the network options and ``--format``."""

    def run(fmt: str, quiet: bool, verbose: bool, **given: Any) -> int:
        ctx = click.get_current_context()
        if quiet and verbose:
            raise click.UsageError("-q and -v contradict each other; give one of them")
        inputs = {field.name: given.pop(field.name) for field in check.fields}
        settings, lab = _settings(ctx, **given)
        detail = "quiet" if quiet else "verbose" if verbose else "normal"
        return _run_check(lambda: check.plan(inputs), settings, lab, fmt, detail)

    command: Callable[..., Any] = network_options(format_option(detail_options(run)))
    for field in reversed(check.fields):
        if field.option:
            command = click.option(
                field.option, field.name, required=field.required, metavar=field.metavar,
                callback=_parsed(field.parse), help=field.help)(command)
        else:
            command = click.argument(field.name, metavar=field.metavar or None,
                                     callback=_parsed(field.parse))(command)
    return click.command(check.kind, help=check.summary, short_help=check.question_short,
                         epilog=_examples(check.examples))(command)


for _check in CHECKS.values():
    check.add_command(_check_command(_check))


@cli.command(short_help="Explain a reply, a bounce, a mailbox of bounces or a mail log",
              epilog=_examples(["mxwizard explain '550 5.1.1 <bob@example.com>: User unknown'",
                                "mxwizard explain --file bounce.eml",
                                "mxwizard explain --file ~/Maildir/.Bounces --format json",
                                "mxwizard explain --file /var/log/mail.log"]))
@click.argument("text", nargs=-1)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=True, allow_dash=True),
              help="Read from a file ('-' for stdin): one bounce, an mbox, a mail log, or a "
                   "directory or Maildir of bounces (each explained, with a summary).")
@format_option
def explain(text: Sequence[str], path: str | None, fmt: str) -> int:
    """Explain an SMTP reply line, a bounce, a folder of bounces or a mail log (exit 0 nothing
    failed, 1 a failure, 3 not recognised)."""
    from mxwizard.bounces.command import explain_command

    return explain_command(text, path, fmt)


class BadSessionFile(click.ClickException):
    """A session file that is missing, unreadable or not a session: exits 2 with one line."""

    exit_code = EXIT_USAGE


def _speed(value: str) -> float:
    """``--speed``: 0 (no pauses) or a multiple of the recorded pace within the sane range."""
    from mxwizard.replay.session_files import MAX_SPEED, MIN_SPEED

    try:
        speed = float(value)
    except ValueError:
        raise InputError(f"the speed {value!r} is not a number (try 0.5, 1, 2 or 0)") from None
    if not (speed == 0 or MIN_SPEED <= speed <= MAX_SPEED):  # also refuses nan and inf
        raise InputError(f"the speed must be between {MIN_SPEED:g} and {MAX_SPEED:g} "
                         f"(or 0 for no pauses), not {value}")
    return speed


@cli.command(short_help="Replay a saved session line by line, with notes",
              epilog=_examples(["mxwizard check receive example.org --format json > s.json",
                                "mxwizard replay s.json --speed 2"]))
@click.argument("file", metavar="FILE")
@click.option("--speed", default="1", show_default=True, metavar="X", callback=_parsed(_speed),
              help="Multiple of the recorded pace, 0.1 to 100: 2 is twice as fast, 0 prints "
                   "without pauses. No pause lasts more than 5 seconds, whatever the speed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for one JSON object per line.")
def replay(file: str, speed: float, fmt: str) -> int:
    """Replay a saved session (or a 'check --format json' report) line by line, with notes.

    Files over 32 MB are refused before they are read.
    """
    from mxwizard.replay.session_files import SessionError, load_session, play

    try:
        session = load_session(file)
    except SessionError as exc:
        raise BadSessionFile(str(exc)) from None
    try:
        play(session, speed, fmt, sys.stdout)
    except BrokenPipeError:  # the reader (head, less) has gone: stop quietly
        sys.stderr.close()
    return 0


@cli.group(short_help="The built-in lab: a mail internet on loopback")
def lab() -> None:
    """The built-in lab: a miniature mail internet on loopback, for learning and testing."""


@lab.command("serve")
@click.option("--dns-addr", default="127.0.0.1", show_default=True,
              callback=_parsed(parse_ip), help="Address of the lab's DNS server.")
@click.option("--dns-port", default=LAB_DNS_PORT, show_default=True, callback=_parsed(parse_port),
              help="Port of the lab's DNS server (UDP and TCP).")
@click.option("--smtp-port", default=LAB_SMTP_PORT, show_default=True,
              callback=_parsed(parse_port), help="Port every lab mail host listens on.")
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(0, 60000),
              help="Delay added to every DNS answer, SMTP reply and MTA-STS policy answer.")
def lab_serve(dns_addr: str, dns_port: int, smtp_port: int, latency_ms: int) -> int:
    """Run the lab's DNS and SMTP servers in the foreground until Ctrl-C."""
    from mxwizard.lab.serve import serve_forever

    return serve_forever(dns_addr, dns_port, smtp_port, latency_ms)


@lab.command("list", short_help="The scenarios, with the command that diagnoses each")
@click.option("--json", "as_json", is_flag=True, help="Print the scenarios as JSON.")
def lab_list(as_json: bool) -> int:
    """The lab's scenarios, with the command that diagnoses each and what it must find."""
    from mxwizard.lab.scenarios import print_scenarios

    return print_scenarios(as_json)


class ServeProblem(click.ClickException):
    """``serve`` cannot start (port taken, no such address, bad URL): exits 2 with one line."""

    exit_code = EXIT_USAGE


def _served_options(network: dict[str, Any]) -> list[str]:
    """The root's network options as words for the served wizard's command line
    (``mxwizard --lab --timeout 5 serve`` serves ``mxwizard --lab --timeout 5``). The values are
    already checked; an option this does not know how to pass on is refused, not dropped."""
    words: list[str] = []
    for key, value in network.items():
        if value is None or value == () or value is False:
            continue
        if key == "resolver":
            ip, port = value
            words += ["--resolver", f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"]
        elif key in ("smtp_port", "source_ip", "timeout", "ca_file"):
            words += [f"--{key.replace('_', '-')}", str(value)]
        elif key == "dnsbl":
            for zone in value:
                words += ["--dnsbl", zone]
        elif key in ("lab", "private_network"):
            words.append(f"--{key.replace('_', '-')}")
        else:
            raise ServeProblem(f"--{key.replace('_', '-')} cannot be passed on to the served "
                               "wizard; leave it out of 'mxwizard serve'")
    return words


@cli.command(short_help="The wizard in a web browser, at a secret local URL",
              epilog=_examples(["mxwizard serve --lab", "mxwizard --lab serve --port 8080"]))
@click.option("--host", default="127.0.0.1", show_default=True, callback=_parsed(parse_ip),
              help="Address to listen on. Keep it on 127.0.0.1 unless a class must connect; "
                   "0.0.0.0 or :: also needs --public-url.")
@click.option("--port", default=8000, show_default=True, callback=_parsed(parse_port))
@click.option("--lab", "with_lab", is_flag=True, help="Serve the wizard against the built-in lab.")
@click.option("--public-url", metavar="URL",
              help="The address other machines use to reach this one, such as "
                   "http://classroom-pc.example:8000/ (when serving a class, or behind a proxy).")
@click.option("--files-dir", metavar="DIR",
              help="The only directory the browser wizard opens session files from "
                   "(default: the current directory). Saves and exports arrive as downloads.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, with_lab: bool, public_url: str | None,
          files_dir: str | None) -> int:
    """Serve the wizard in a web browser, at a secret URL printed on start.

    Only that URL (with its ?token=) opens the wizard; other web pages and other host names are
    refused. For a projector, add &fontsize=24 (8 to 72) to the URL. Root options such as
    'mxwizard --lab --timeout 5 serve' apply to the served wizard.
    """
    options = _served_options(ctx.find_root().meta.get("network", {}))
    from mxwizard.ui.web import ServeError, serve_web

    try:
        return serve_web(host, port, with_lab, options=options, public_url=public_url,
                         files_dir=files_dir)
    except ServeError as exc:
        raise ServeProblem(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one line and exit 2 for any usage error, 130 on Ctrl-C."""
    try:
        status = cli.main(args=list(argv) if argv is not None else None, prog_name="mxwizard",
                          standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        status = 0
    except click.ClickException as exc:
        message = exc.format_message().replace("\n", " ")
        click.echo(f"mxwizard: error: {message}", err=True)
        status = exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("mxwizard: interrupted", err=True)
        status = 130
    except InputError as exc:
        click.echo(f"mxwizard: error: {exc}", err=True)
        status = EXIT_USAGE
    sys.exit(status if isinstance(status, int) else 0)
