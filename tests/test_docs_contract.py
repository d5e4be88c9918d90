"""The documented contract and the code say the same thing.

- docs/findings.md lists exactly the finding ids the code can produce: the ids are read from the
  source with ``ast`` (the first argument of every ``Finding(...)``, ``replace(..., id=...)``,
  following names to their assignments, to a helper's parameters and its callers), and an id
  the code builds at run time (``f"{step.id}.ok"``) is a pattern, ``<step>.ok`` in the docs;
- its steps are the steps of the plans, its bounce classes the knowledge base's;
- every JSON document the tool writes carries ``"schema": 1``;
- docs/cli.md and docs/exit-codes.md cover every command and option of the click tree, the
  manual page made by scripts/man.py names them all, and shell completion answers;
- the docs' relative links lead to files in the repository.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from mxwizard.core.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "mxwizard"
DOCS = ROOT / "docs"
#: What a part of an id computed at run time becomes, in the code's ids and the docs' patterns.
WILD = "<*>"


# --- the ids in the code ---------------------------------------------------------------------


class _Source:
    """Every module of the package, parsed once, with the lookups the resolver needs."""

    def __init__(self, root: Path) -> None:
        self.modules: dict[Path, ast.Module] = {}
        self.parent: dict[ast.AST, ast.AST] = {}
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.calls: dict[str, list[ast.Call]] = {}
        self.globals: dict[str, list[ast.expr]] = {}
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            self.modules[path] = tree
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    self.parent[child] = node
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions.setdefault(node.name, []).append(node)
                elif isinstance(node, ast.Call) and _called(node):
                    self.calls.setdefault(_called(node), []).append(node)
            for stmt in tree.body:
                for name, value in _assigned(stmt):
                    self.globals.setdefault(name, []).append(value)

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        current = self.parent.get(node)
        while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            current = self.parent.get(current)
        return current

    def where(self, node: ast.AST) -> str:
        top = node
        while top in self.parent:
            top = self.parent[top]
        path = next(p for p, tree in self.modules.items() if tree is top)
        return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"

    def resolve(self, expr: ast.expr, scope: ast.AST | None, depth: int = 0) -> set[str]:
        """The strings ``expr`` can be; computed parts become :data:`WILD`."""
        if depth > 8:
            return {WILD}
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.resolve(expr.body, scope, depth + 1) | self.resolve(expr.orelse, scope, depth + 1)
        if isinstance(expr, ast.JoinedStr):  # a part known in the source is spelt out
            texts = {""}
            for value in expr.values:
                if isinstance(value, ast.Constant):
                    parts = {str(value.value)}
                else:
                    assert isinstance(value, ast.FormattedValue)
                    parts = self.resolve(value.value, scope, depth + 1)
                    parts = {WILD} if WILD in parts or not parts else parts
                texts = {text + part for text in texts for part in parts}
            return texts
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return {left + right for left in self.resolve(expr.left, scope, depth + 1)
                    for right in self.resolve(expr.right, scope, depth + 1)}
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
            tables = [v for v in self.globals.get(expr.value.id, []) if isinstance(v, ast.Dict)]
            if tables:
                return {s for table in tables for v in table.values
                        for s in self.resolve(v, None, depth + 1)}
        if isinstance(expr, ast.Name):
            found = self._name(expr.id, scope, depth)
            return found or {WILD}
        if isinstance(expr, _Item):
            members = self._members(expr.of, scope, depth)
            if expr.index is None:
                return {s for m in members for s in self.resolve(m, scope, depth + 1)} or {WILD}
            parts = [m.elts[expr.index] for m in members
                     if isinstance(m, (ast.Tuple, ast.List)) and len(m.elts) > expr.index]
            return {s for part in parts for s in self.resolve(part, scope, depth + 1)} or {WILD}
        return {WILD}

    def _members(self, expr: ast.expr, scope: ast.AST | None, depth: int) -> list[ast.expr]:
        """What indexing or iterating ``expr`` can give, where it is written out in the source:
        the values of a dict (``TABLE[key]``, ``TABLE.values()``), the key-value pairs of
        ``TABLE.items()``, the members of a tuple or list, or ``expr`` itself."""
        if isinstance(expr, ast.Subscript):
            return [v for table in self._literals(expr.value) if isinstance(table, ast.Dict)
                    for v in table.values]
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and not expr.args:
            tables = [t for t in self._literals(expr.func.value) if isinstance(t, ast.Dict)]
            if expr.func.attr == "values":
                return [v for t in tables for v in t.values]
            if expr.func.attr == "items":
                return [ast.Tuple(elts=[k, v]) for t in tables
                        for k, v in zip(t.keys, t.values, strict=True) if k is not None]
            if expr.func.attr == "keys":
                return [k for t in tables for k in t.keys if k is not None]
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return list(expr.elts)
        literals = self._literals(expr)
        sequences = [m for t in literals if isinstance(t, (ast.Tuple, ast.List, ast.Set))
                     for m in t.elts]
        return sequences or [expr]

    def _literals(self, expr: ast.expr) -> list[ast.expr]:
        """The literal a module-level name is bound to (or ``expr`` itself)."""
        if isinstance(expr, ast.Name):
            return list(self.globals.get(expr.id, []))
        return [expr]

    def _name(self, name: str, scope: ast.AST | None, depth: int) -> set[str]:
        found: set[str] = set()
        function = scope if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if function is not None:
            for node in ast.walk(function):
                for target, value in _assigned(node):
                    if target == name:
                        found |= self.resolve(value, function, depth + 1)
            found |= self._parameter(function, name, depth)
        if not found:
            for value in self.globals.get(name, []):
                found |= self.resolve(value, None, depth + 1)
        return found

    def _parameter(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
                   depth: int) -> set[str]:
        """A parameter: its default and what every caller passes for it."""
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        found: set[str] = set()
        index = next((i for i, a in enumerate(positional) if a.arg == name), None)
        if index is not None:
            first_default = len(positional) - len(args.defaults)
            if index >= first_default:
                found |= self.resolve(args.defaults[index - first_default], None, depth + 1)
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if arg.arg == name and default is not None:
                found |= self.resolve(default, None, depth + 1)
        if index is None and name not in {a.arg for a in args.kwonlyargs}:
            return found
        offset = 1 if positional and positional[0].arg in ("self", "cls") else 0
        for call in self.calls.get(function.name, []):
            if index is not None and len(call.args) > index - offset >= 0:
                found |= self.resolve(call.args[index - offset], self.function_of(call), depth + 1)
            for keyword in call.keywords:
                if keyword.arg == name:
                    found |= self.resolve(keyword.value, self.function_of(call), depth + 1)
        return found


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _assigned(node: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    """``name = value`` (annotated or not); for ``a, b = value`` and ``for a, b in value``,
    the part of ``value`` each name gets, as an :class:`_Item`."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from _targets(target, node.value)
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        yield node.target.id, node.value
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        yield from _targets(node.target, _Item(node.iter, None))


def _targets(target: ast.expr, value: ast.expr) -> Iterator[tuple[str, ast.expr]]:
    if isinstance(target, ast.Name):
        yield target.id, value
    elif isinstance(target, (ast.Tuple, ast.List)):
        for index, element in enumerate(target.elts):
            yield from _targets(element, _Item(value, index))


class _Item(ast.expr):
    """Element ``index`` of every member of ``of`` (``index`` None: every member itself), for
    names bound by unpacking or by a loop."""

    def __init__(self, of: ast.expr, index: int | None) -> None:
        super().__init__()
        self.of, self.index = of, index


def _id_argument(call: ast.Call) -> ast.expr | None:
    """The id a call makes: ``Finding(ID, ...)`` / ``Finding(id=ID)``, ``replace(f, id=ID)``."""
    name = _called(call)
    keyword = next((k.value for k in call.keywords if k.arg == "id"), None)
    if name == "Finding":
        return call.args[0] if call.args else keyword
    if name == "replace":
        return keyword
    return None


def code_finding_ids() -> dict[str, list[str]]:
    """Every id (or pattern) the code can produce, with where it is made."""
    source = _Source(SRC)
    ids: dict[str, list[str]] = {}
    for calls in source.calls.values():
        for call in calls:
            argument = _id_argument(call)
            if argument is None:
                continue
            for ident in source.resolve(argument, source.function_of(call)):
                ids.setdefault(ident, []).append(source.where(call))
    return ids


def code_step_ids() -> set[str]:
    """The ids of the decision tree's steps: the first argument of every ``Step(...)`` (a string,
    or a fact key such as ``MX = FactKey("mx")``)."""
    source = _Source(SRC)
    steps: set[str] = set()
    for call in source.calls.get("Step", []):
        argument = call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg in ("fact", "id")), None)
        if argument is None:
            continue
        if isinstance(argument, ast.Name):
            values = source.globals.get(argument.id, [])
            keys = [v.args[0] for v in values if isinstance(v, ast.Call) and v.args]
            steps |= {s for key in keys for s in source.resolve(key, None)}
        else:
            steps |= source.resolve(argument, source.function_of(call))
    return steps


# --- the ids in the docs ---------------------------------------------------------------------


def _tables(text: str, first_header: str) -> Iterator[list[str]]:
    """The rows (as lists of cells) of every Markdown table whose first header cell is
    ``first_header``."""
    inside = header_seen = False
    for line in text.splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if not inside:
            inside = bool(cells) and cells[0] == first_header
            header_seen = False
            continue
        if not header_seen:  # the |---| line under the header
            header_seen = True
            continue
        yield cells


def _code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _pattern(ident: str) -> str:
    return re.sub(r"<[^>]*>", WILD, ident)


def documented(first_header: str) -> list[str]:
    text = (DOCS / "findings.md").read_text(encoding="utf-8")
    out: list[str] = []
    for cells in _tables(text, first_header):
        spans = _code_spans(cells[0])
        assert len(spans) == 1, f"a row of the '{first_header}' table names no single id: {cells}"
        out.append(spans[0])
    return out


def test_every_finding_id_the_code_makes_is_documented_and_no_other() -> None:
    in_code = code_finding_ids()
    unresolved = {where for ident, places in in_code.items() if ident == WILD for where in places}
    assert not unresolved, ("these finding ids cannot be read from the code (use a string "
                            f"literal, or an f-string for a pattern): {sorted(unresolved)}")
    docs = documented("Finding id")
    patterns = [_pattern(i) for i in docs]
    twice = sorted({i for i in patterns if patterns.count(i) > 1})
    assert not twice, f"documented twice in docs/findings.md: {twice}"
    missing = sorted(set(in_code) - set(patterns))
    extra = sorted(set(patterns) - set(in_code))
    assert not missing, ("docs/findings.md lacks ids the code makes: "
                         + ", ".join(f"{i} ({in_code[i][0]})" for i in missing))
    assert not extra, f"docs/findings.md lists ids the code never makes: {extra}"


def test_the_extraction_sees_literals_helpers_and_patterns() -> None:
    """The extraction finds what a plain grep would miss, so the comparison above means
    something: ids passed through helpers, chosen by a condition, or built at run time."""
    ids = code_finding_ids()
    assert {"mx.ok", "smtp.accepts", "relay.open", "spf.pass", "dkim.ok"} <= set(ids)
    assert {"smtp.probe-refused", "relay.untested"} <= set(ids)  # a helper's parameter
    assert {"dnsbl.listed", "dnsbl.domain-listed", "dnsbl.ok", "dnsbl.domain-ok"} <= set(ids)
    assert {f"{WILD}.ok", f"{WILD}.untested", f"{WILD}.not-checked", f"bounce.{WILD}"} <= set(ids)
    assert len(ids) >= 100


def test_the_documented_steps_are_the_plans_steps() -> None:
    steps = documented("Step")
    assert len(steps) == len(set(steps))
    assert set(steps) == code_step_ids()


def test_the_documented_bounce_classes_are_the_knowledge_bases() -> None:
    from mxwizard.knowledge.bounces import BOUNCE_CLASSES

    text = (DOCS / "findings.md").read_text(encoding="utf-8")
    rows = {_code_spans(cells[0])[0]: cells[1] for cells in _tables(text, "Class")}
    assert rows == {name: known.side for name, known in BOUNCE_CLASSES.items()}


# --- "schema": 1 in every JSON document --------------------------------------------------------


def test_the_schema_version_is_documented() -> None:
    assert SCHEMA_VERSION == 1
    assert f'"schema": {SCHEMA_VERSION}' in (DOCS / "json.md").read_text(encoding="utf-8")


def _report_text() -> str:
    return json.dumps({
        "transcripts": [{"host": "mx.example.org", "ip": "192.0.2.1", "port": 25, "lines": [
            {"t_ms": 0, "dir": "S", "text": "220 mx.example.org ESMTP"},
            {"t_ms": 5, "dir": "C", "text": "EHLO client.example.net"}]}],
        "dns": [{"t_ms": 0, "qname": "example.org", "qtype": "MX", "server": "192.0.2.53:53",
                 "rcode": "NOERROR", "answers": ["example.org. 300 IN MX 10 mx.example.org."],
                 "ms": 1.0}],
    })


def test_check_and_explain_reports_carry_the_schema() -> None:
    from mxwizard.bounces.explain import explain_text
    from mxwizard.render.report import to_json

    for text in ("550 5.1.1 <bob@example.com>: User unknown", "250 2.0.0 Ok"):
        diagnosis, _ = explain_text(text)
        report = json.loads(to_json(diagnosis))
        assert report["schema"] == 1 and report["kind"] == "explain"


def test_explain_batch_lines_carry_the_schema() -> None:
    from mxwizard.bounces import batch

    items = iter([("a.eml", "550 5.1.1 <bob@example.com>: User unknown", None),
                  ("b.eml", None, "cannot read: Permission denied")])
    out = io.StringIO()
    status = batch.run(batch.Source("bounces", items), "json", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 1 and [line["source"] for line in lines] == ["a.eml", "b.eml"]
    assert all(line["schema"] == 1 for line in lines)
    assert lines[1]["error"] == "cannot read: Permission denied"


def test_replay_lines_and_session_files_carry_the_schema() -> None:
    from mxwizard.replay.session_files import parse_session, play, session_text

    session = parse_session(_report_text())
    out = io.StringIO()
    assert play(session, 0, "json", out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["dns", "smtp", "smtp"]
    assert all(line["schema"] == 1 for line in lines)
    assert json.loads(session_text(session))["schema"] == 1


def test_lab_list_json_carries_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from mxwizard.lab.scenarios import print_scenarios

    assert print_scenarios(True) == 0
    scenarios = json.loads(capsys.readouterr().out)
    assert scenarios and all(s["schema"] == 1 for s in scenarios)
    assert {"name", "summary", "kind", "args", "expect"} <= set(scenarios[0])


# --- commands, options, exit codes, man page, completion --------------------------------------


def _click_tree() -> list[tuple[str, click.Command, click.Context]]:
    from mxwizard.cli import cli

    root = cli.make_context("mxwizard", [], resilient_parsing=True)
    found: list[tuple[str, click.Command, click.Context]] = [("mxwizard", cli, root)]

    def walk(group: click.Group, ctx: click.Context, path: str) -> None:
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
            found.append((f"{path} {name}", sub, sub_ctx))
            if isinstance(sub, click.Group):
                walk(sub, sub_ctx, f"{path} {name}")

    walk(cli, root, "mxwizard")
    return found


def _options(cmd: click.Command, ctx: click.Context) -> list[str]:
    return [opt for param in cmd.get_params(ctx) if isinstance(param, click.Option)
            and not param.hidden for opt in param.opts]


def _sections(text: str) -> dict[str, str]:
    """The text under each heading that names a command in backticks."""
    out: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        heading = re.match(r"^#+ (.*)$", line)
        if heading:
            spans = _code_spans(heading[1])
            current = spans[0] if spans else heading[1].strip()
            out.setdefault(current, "")
            continue
        out[current] = out.get(current, "") + line + "\n"
    return out


def test_docs_cli_covers_every_command_and_option() -> None:
    sections = _sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    shared = sections["Shared options"]
    for path, cmd, ctx in _click_tree():
        assert path in sections, f"docs/cli.md has no section '## `{path}`'"
        for option in _options(cmd, ctx):
            assert f"`{option}" in sections[path] or f"`{option}" in shared, \
                f"docs/cli.md does not mention {option} of '{path}'"


def test_docs_exit_codes_cover_every_command() -> None:
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    for path, cmd, _ in _click_tree():
        if isinstance(cmd, click.Group) and path != "mxwizard":
            continue  # a group only holds commands
        assert f"`{path}" in text, f"docs/exit-codes.md does not mention '{path}'"


def test_the_man_page_names_every_command_and_option(tmp_path: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "man.py"), "-o",
                           str(tmp_path / "mxwizard.1")], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "mxwizard.1").read_text(encoding="ascii")
    assert page.startswith('.TH MXWIZARD 1 "2023-11-14"')
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS",
                    "ENVIRONMENT"):
        assert f"\n.SH {section}\n" in page
    plain = page.replace("\\-", "-")
    for path, cmd, ctx in _click_tree():
        if path != "mxwizard":
            assert f'.SS "{path}"' in plain, path
        for option in _options(cmd, ctx):
            assert f"\\fB{option}\\fR" in plain, f"{option} of {path}"
    assert "MXWIZARD_TIMEOUT" in page.replace("\\", "")
    groff = shutil.which("groff")
    if groff:  # the page is valid troff: groff has nothing to warn about
        checked = subprocess.run([groff, "-man", "-ww", "-z", str(tmp_path / "mxwizard.1")],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0 and not checked.stderr, checked.stderr


def test_shell_completion_answers_for_bash_zsh_and_fish() -> None:
    for shell in ("bash", "zsh", "fish"):
        done = subprocess.run([sys.executable, "-m", "mxwizard"], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "_MXWIZARD_COMPLETE": f"{shell}_source"})
        assert done.returncode == 0 and "_mxwizard_completion" in done.stdout, (shell, done.stderr)
    done = subprocess.run([sys.executable, "-m", "mxwizard"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "_MXWIZARD_COMPLETE": "bash_complete",
                                           "COMP_WORDS": "mxwizard check ", "COMP_CWORD": "2"})
    assert {"plain,receive", "plain,send", "plain,relay"} <= set(done.stdout.split())


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", sorted([*DOCS.glob("*.md"), ROOT / "README.md"]),
                         ids=lambda p: p.name)
def test_relative_links_lead_to_files_in_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{page.name} links out of the repository: {target}"
        assert path.exists(), f"{page.name} links to a missing file: {target}"
