"""The documentation stays true: every example in README.md and docs/ runs.

Each page's examples run in order, in a fresh temporary directory:

- a ```python block is executed; the page's blocks share one namespace;
- a ```console block is a terminal session. A line ``$ action-ledger ARGS`` (continued on the
  next line after a trailing backslash) runs the program through click's ``CliRunner`` with
  ``ACTION_LEDGER_DB`` and ``ACTION_LEDGER_ACTOR`` unset (the login name is
  ``policy.officer``) and a terminal 100 columns wide, and must exit 0. The lines after it,
  up to the next ``$``, are expected output: each must occur in what the command printed, in
  order; ``...`` stands for anything (the rest of a cut-short output, or a part of a line that
  differs on every run).
  ``$ export NAME=VALUE`` sets an environment variable for the page's later commands, and a
  later ``$NAME`` or ``${NAME}`` is replaced by its value.

HTML comments right before a block (invisible on the site) adjust it:

- ``<!-- expect-exit: 3 -->``: every command of the block must exit 3 instead of 0;
- ``<!-- capture: NAME = REGEX -->``: after the block, ``NAME`` is set to the first group of
  REGEX in the output of the block's last command (for values that differ on every run, such
  as event ids and hashes).
"""

from __future__ import annotations

import re
import shlex
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from action_ledger.cli import main

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]

#: Fenced blocks that are not run: the README's set-up commands, the hand-written CLI guide's
#: ``sh`` snippets (reference material, with placeholders), the PostgreSQL commands of a
#: backend that does not exist yet (``text``), and diagrams.
NOT_RUN = {
    "README.md": {"sh"},
    "docs/cli.md": {"sh"},
    "docs/how-to/postgresql.md": {"text"},
    "docs/tutorial.md": {"sh"},  # the installation steps, run once in a clone
}
NEVER_RUN = {"mermaid"}
#: Pages whose examples need an optional library (skipped without it).
NEEDS = {"docs/how-to/erase.md": "cryptography"}
RUN = {"python", "console"}

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*$")
DIRECTIVE = re.compile(r"^<!--\s*(?P<name>[\w-]+)\s*:\s*(?P<value>.*?)\s*-->$")
DIRECTIVES = {"expect-exit", "capture"}
VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<plain>[A-Za-z_]\w*))")


@dataclass
class Block:
    """One fenced code block of a page, with the directives written right before it."""

    lang: str
    code: str
    line: int
    indent: str
    directives: dict[str, str] = field(default_factory=dict)


def blocks(text: str) -> Iterator[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    lines = text.splitlines()
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        directive = DIRECTIVE.match(lines[i].strip())
        if directive:
            pending[directive["name"]] = directive["value"]
        elif opening:
            start = i
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            yield Block(
                lang=opening["lang"],
                code="\n".join(body) + "\n",
                line=start + 1,
                indent=opening["indent"],
                directives=pending,
            )
            pending = {}
        elif lines[i].strip():
            pending = {}  # a directive applies only to the block right after it
        i += 1


@dataclass
class Step:
    """One ``$`` line of a console block and the output expected from it."""

    command: str
    expected: list[str]


def console_steps(code: str) -> list[Step]:
    """The commands of a console block, each with its expected output lines."""
    steps: list[Step] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1].rstrip() + " " + lines[i].strip()
            steps.append(Step(command=command, expected=[]))
        elif line.strip():
            if not steps:
                raise AssertionError(f"output before any command: {line!r}")
            steps[-1].expected.append(line.strip())
        i += 1
    return steps


class Session:
    """A page's terminal: its environment, its variables, the last command's output."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.env: dict[str, str | None] = {
            "ACTION_LEDGER_DB": None,
            "ACTION_LEDGER_ACTOR": None,
            "LOGNAME": "policy.officer",  # the default actor: a login name, the same anywhere
            "COLUMNS": "100",  # the program wraps text to the terminal's width
        }
        self.variables: dict[str, str] = {}
        self.last_output = ""

    def expand(self, command: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match["braced"] or match["plain"]
            if name not in self.variables:
                raise AssertionError(f"{self.where}: ${name} is not set in `{command}`")
            return self.variables[name]

        return VARIABLE.sub(value, command)

    def run(self, step: Step, expected_exit: int) -> None:
        argv = shlex.split(self.expand(step.command), comments=True)
        shown = f"{self.where}: `$ {step.command}`"
        if argv[:1] == ["export"] and len(argv) == 2 and "=" in argv[1]:
            name, _, value = argv[1].partition("=")
            self.env[name] = self.variables[name] = value
            return
        if argv[:1] != ["action-ledger"]:
            raise AssertionError(f"{shown}: a console example runs only `action-ledger`")
        result = CliRunner().invoke(main, argv[1:], env=self.env, catch_exceptions=True)
        output = result.output
        self.last_output = output
        if result.exit_code != expected_exit:
            crash = ""
            if result.exc_info and not isinstance(result.exception, SystemExit):
                crash = "\n" + "".join(traceback.format_exception(*result.exc_info))
            raise AssertionError(
                f"{shown} exited {result.exit_code}, expected {expected_exit}:\n{output}{crash}"
            )
        position = 0
        for line in step.expected:
            for part in line.split("..."):
                found = output.find(part, position)
                if found < 0:
                    raise AssertionError(
                        f"{shown}: expected {line!r} (in order) in its output:\n{output}"
                    )
                position = found + len(part)

    def capture(self, spec: str) -> None:
        name, _, pattern = spec.partition("=")
        match = re.search(pattern.strip(), self.last_output)
        if match is None:
            raise AssertionError(
                f"{self.where}: capture {name.strip()}: /{pattern.strip()}/ not in:\n"
                f"{self.last_output}"
            )
        self.variables[name.strip()] = match[1]


def run_page(page: Path) -> None:
    """Run a page's python and console blocks in order, in the current directory."""
    name = str(page.relative_to(ROOT))
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    session = Session(name)
    for block in blocks(page.read_text()):
        where = f"{name} line {block.line}"
        if block.lang == "python":
            exec(compile(block.code, where, "exec"), namespace)
        elif block.lang == "console":
            session.where = where
            expected_exit = int(block.directives.get("expect-exit", "0"))
            for step in console_steps(block.code):
                session.run(step, expected_exit)
            if "capture" in block.directives:
                session.capture(block.directives["capture"])


def _runs(page: Path) -> bool:
    return any(b.lang in RUN for b in blocks(page.read_text()))


PAGES_WITH_EXAMPLES = [p for p in PAGES if _runs(p)]


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's python and console examples run as written, in order, in a fresh directory."""
    needed = NEEDS.get(str(page.relative_to(ROOT)))
    if needed is not None:
        pytest.importorskip(needed)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACTION_LEDGER_DB", raising=False)
    monkeypatch.delenv("ACTION_LEDGER_KEYS", raising=False)
    run_page(page)


def test_every_code_block_is_run() -> None:
    """Each fenced block is a python or console example that runs, or is exempt by name."""
    for page in PAGES:
        name = str(page.relative_to(ROOT))
        for block in blocks(page.read_text()):
            where = f"{name} line {block.line}"
            if block.lang in RUN:
                assert not block.indent, f"{where}: an indented example would not run"
            else:
                exempt = NOT_RUN.get(name, set()) | NEVER_RUN
                assert block.lang in exempt, f"{where}: ```{block.lang} is not run"


def test_console_examples_are_well_formed() -> None:
    """Console blocks start with a command; directives are known and come before a block."""
    for page in PAGES:
        for block in blocks(page.read_text()):
            where = f"{page.name} line {block.line}"
            assert set(block.directives) <= DIRECTIVES, f"{where}: unknown {block.directives}"
            if block.directives:
                assert block.lang == "console", f"{where}: directives apply to console blocks"
            if block.lang == "console":
                assert console_steps(block.code), f"{where}: no command"


SELF_TEST = """\
<!-- expect-exit: 5 -->

```console
$ action-ledger verify \\
    --head "$HEAD"  # published earlier
FAILED: the head hash
```
"""


def test_the_runner_checks_exit_codes_output_and_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong exit code, a missing output line or an unset variable fails the example."""
    monkeypatch.chdir(tmp_path)
    (block,) = blocks(SELF_TEST)
    assert block.directives == {"expect-exit": "5"}
    (step,) = console_steps(block.code)
    assert step == Step(
        'action-ledger verify --head "$HEAD"  # published earlier', ["FAILED: the head hash"]
    )
    session = Session("self-test")
    session.run(Step("action-ledger init", ["created an empty register"]), 0)
    with pytest.raises(AssertionError, match=r"\$HEAD is not set"):
        session.run(step, 5)
    session.run(Step("export HEAD=" + "feed" * 16, []), 0)
    session.run(step, 5)
    with pytest.raises(AssertionError, match="exited 5, expected 0"):
        session.run(step, 0)
    with pytest.raises(AssertionError, match="expected 'no such words'"):
        session.run(Step("action-ledger verify", ["ok: 0 events", "no such words"]), 0)
    with pytest.raises(AssertionError, match=re.escape("expected 'head ... ok'")):
        session.run(Step("action-ledger verify", ["head ... ok"]), 0)  # in order
    session.run(Step("action-ledger verify", ["...", "ok: ... checked; head 000...000"]), 0)
    session.capture("HEAD = head ([0-9a-f]{64})")
    assert session.variables["HEAD"] == "0" * 64


def test_docs_link_only_to_pages_that_exist() -> None:
    """Relative links in the README and docs point at files in the repository."""
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
