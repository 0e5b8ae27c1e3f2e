"""Role files: what an agent podium starts is told about its job, generated from podium's real tools.

A role file (``TESTER.md``) has two parts. The part between podium's markers is generated from what podium
actually offers here — its commands and MCP tools, the repository's detected test commands — and is
rewritten whenever podium renders the file. Everything outside the markers is the user's: written once
from the workflow's defaults, then never touched, so edits survive. Deleting the markers makes the whole
file the user's (podium then leaves it exactly as it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from podium.config import Config
from podium.git import Repo
from podium.verdict import TestCommand, detect_test_commands
from podium.workspace import ENV_DIR, exclude_env_dir

START = "<!-- podium:generated — rewritten from podium's tools each time; edit outside these markers -->"
END = "<!-- podium:end -->"

TESTER_INTRO = """\
# Tester

You handle manual testing (through a browser) and automated test runs for one branch. The orchestrator
sends you a turn at a time: what changed and what to test. You keep what you learned between turns.

**Screenshots.** When there is a user-facing smoking gun for a change — the bug before, the fix after,
the new screen — take a screenshot of it. It goes in the pull request.

**Tests.** Run the full suite for comprehensive coverage, then targeted tests to iterate on failures.

**Report** in a few lines: the verdict (passed/failed, counts), the failing tests with the one line that
explains each, the screenshots you took, and what you could not test and why.

You test; you do not fix. Do not edit the code, commit, push, or switch branches: other agents work on
this branch, and podium commits only what the workers changed. Scratch files and reports are fine.
"""

ORCHESTRATOR_INTRO = """\
# Orchestrator

You coordinate; you don't write non-trivial code yourself. Delegate implementation to worker agents
(ephemeral, each in its own worktree, running in the background) and testing to the tester (one resumable
session per branch). Judge the code that comes back, but get the human's approval before anything is
committed or pushed, unless the change is truly straightforward.

**Workers.** Describe the situation, not the solution: what is wrong, where it shows, why it matters, what
done looks like. They are as smart as you: give them intellectual leeway. Let them cook — a worker may take
an hour; don't micromanage or check in often. Wait for jobs instead of polling them.

**Tester.** Pass the branch and what to test. For user-facing changes ask for screenshots of the smoking
gun (they go in the PR); for automated testing have it run the full suite, then targeted tests while a
worker iterates on the failures.

**Context hygiene.** Read a job's summary, not its log; ask for the last few events only when the summary
does not explain a failure. Long output stays out of your context.

**Multi-agent awareness.** Never switch a branch another agent works on, and commit only this task's work.

**The human.** Say what you did, what you found, and what waits for them — in a few lines.
"""

# How to run part of a suite, by the runner a detected command starts.
TARGETED = {
    "pytest": "python -m pytest path/to/test_file.py::test_name -x",
    "unittest": "python -m unittest package.module.TestCase.test_name",
    "tox": "tox -e py -- path/to/test_file.py::test_name",
    "npm": "npm test -- <file or -t 'name'>",
    "pnpm": "pnpm test -- <file or -t 'name'>",
    "yarn": "yarn test <file or -t 'name'>",
    "bun": "bun test <file>",
    "go": "go test ./path/to/pkg -run 'TestName'",
    "cargo": "cargo test test_name",
    "dotnet": "dotnet test --filter FullyQualifiedName~Name",
    "mvn": "mvn test -Dtest=ClassName#method",
    "gradle": "gradle test --tests 'ClassName.method'",
    "rspec": "bundle exec rspec spec/path_spec.rb:LINE",
}


def runner_of(command: str) -> str:
    """The test runner a command starts: ``python -m pytest`` → pytest, ``./mvnw test`` → mvn."""
    words = command.split()
    if words[:2] == ["python", "-m"] and len(words) > 2:
        return words[2]
    if words[:2] == ["bundle", "exec"] and len(words) > 2:
        return words[2]
    return {"./mvnw": "mvn", "./gradlew": "gradle"}.get(words[0], words[0]) if words else ""


@dataclass
class RoleFile:
    name: str
    path: Path
    text: str
    created: bool
    changed: bool
    generated: bool  # False when the user removed the markers and owns the whole file


def role_path(repo: Repo, config: Config, name: str) -> Path:
    """``<main checkout>/<[roles] dir>/<name>.md``: one file for every worktree of the repository."""
    return (repo.main_checkout / config.roles_dir).resolve() / f"{name}.md"


def tester_tools(commands: list[TestCommand], mcp: bool = True, live: bool = False) -> str:
    """The generated part of TESTER.md: the commands this repository runs its tests with, the live browser
    (when the tester has one) and the screenshot tool."""
    lines = ["## Your tools (from podium)", "", "### Test commands detected in this repository", ""]
    if commands:
        for cmd in commands:
            lines.append(f"- `{cmd.command}` — {cmd.why}")
        runners = dict.fromkeys(runner_of(c.command) for c in commands)
        hints = [f"- `{TARGETED[r]}`" for r in runners if r in TARGETED]
        if hints:
            lines += ["", "Targeted runs while iterating on a failure:", "", *hints]
    else:
        lines.append("- none found (no Makefile test target, pytest, package.json test script, go.mod, Cargo.toml, "
                     "…): find how this project tests itself and say so in your report")
    lines += [
        "",
        "Run them as they are — no `| tail`, `| head` or `|| true`: podium reads the verdict (counts, failing",
        "tests) from the runner's own output and exit code, not from your report.",
    ]
    if live:
        lines += LIVE_BROWSER
    lines += [
        "",
        "### Screenshots: `podium screenshot`",
        "",
        "```",
        "podium screenshot URL --label 'what it shows' [--do STEP]... [--full-page]",
        "```",
        "",
        "Opens URL in headless Chromium, carries out each `--do` step in order, and saves",
        "`<branch>-<n>-<label>.png` into the screenshots folder, recorded against this branch so that the",
        "gate shows it and `podium ship` attaches it to the pull request. Steps: `click:SELECTOR`,",
        "`type:SELECTOR=TEXT`, `press:KEY`, `wait:SELECTOR`, `wait:MILLISECONDS`, `goto:URL` (Playwright",
        "selectors: CSS or `text=…`). It prints the file, the HTTP status, the title and the page's console",
        "errors; `--json` for all of it.",
    ]
    if mcp:
        lines += ["", "The same tool is the MCP tool `screenshot` of the `podium` server, when your CLI has it."]
    lines += [
        "",
        "### Running the app under test",
        "",
        "This workspace has its own ports so that several branches run side by side: `$PORT` and the",
        "block in `$PODIUM_PORTS` (also in `.podium/env`). When podium serves the app (`[tester] serve`, or a",
        "dev server it detected) it is already up on `$PORT` for your turn — this session's facts give its URL —",
        "and stopped after it. Otherwise start dev servers on those ports in the background, wait until they",
        "answer, and stop them when you are done.",
    ]
    return "\n".join(lines)


LIVE_BROWSER = [
    "",
    "### A live browser: the `playwright` MCP server",
    "",
    "Test like a person: `browser_navigate` to the page, `browser_snapshot` to read it (its accessibility",
    "tree, each element with a `ref`), then `browser_click`, `browser_type`, `browser_fill_form`,",
    "`browser_press_key`, `browser_wait_for` — and read what the page says after each step (errors, redirects",
    "you did not predict). `browser_console_messages` lists the page's console errors. The browser keeps its",
    "profile between your turns (a login survives); it is closed after each turn. (When your tool list does not",
    "show these tools, search your tools for `browser`: some CLIs load an MCP server's tools on demand.)",
    "",
    "Screenshot the smoking gun with `browser_take_screenshot` and a `filename` that says what it shows",
    "(`cart-error.png`): podium saves it as `<branch>-<n>-<label>.png` in the screenshots folder and records it",
    "against this branch, for the gate and the pull request, and shows the gate the console errors you saw.",
]


def render(repo: Repo, config: Config, name: str, generated: str, intro: str) -> RoleFile:
    """Write the role file's generated part, keeping the user's text; create it from ``intro`` if missing."""
    path = role_path(repo, config, name)
    block = f"{START}\n{generated.rstrip()}\n{END}"
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = None
    if old is None:
        text = f"{intro.rstrip()}\n\n{block}\n"
    elif START in old and END in old.split(START, 1)[1]:
        before, rest = old.split(START, 1)
        after = rest.split(END, 1)[1]
        text = f"{before}{block}{after}"
    else:
        return RoleFile(name, path, old, created=False, changed=False, generated=False)
    if text != old:
        if path.is_relative_to((repo.main_checkout / ENV_DIR).resolve()):
            exclude_env_dir(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return RoleFile(name, path, text, created=old is None, changed=text != old, generated=True)


LOOP = [
    "## The loop for a ticket",
    "",
    "1. `ticket_start` — assigns it to the human, sets it active, makes its workspace and snapshot.",
    "2. `delegate` with `ticket` — the worker works in that workspace. `wait` for it; read the summary.",
    "3. `test` the branch — say what changed and what to test; `wait`; read the verdict (from the runner).",
    "4. Failures: `resume` the worker with what the tester found (facts, not fixes); test again. A few",
    "   rounds at most, then tell the human what blocks it.",
    "5. `ship` — one commit on the base, pushed with a lease, the PR opened or updated with the ticket,",
    "   tests and screenshots. It returns a pending gate: tell the human what it holds and that it waits",
    "   for `podium approve N` (or the gate's page in `podium dashboard`). When your client can show the",
    "   human a form, `ship` puts the gate to them itself and returns their decision. Never try to get",
    "   around the gate.",
]

# What the plugin's orchestrator knows of a repository it has not seen: where podium keeps what it detected.
ANY_REPOSITORY = [
    "- Its conventions — the base branch, branch names, tracker, forge, test commands and what the gate lets",
    "  through — are in the generated part of its ORCHESTRATOR.md. Read them before the first tool call:",
    "  `podium roles orchestrator --print` in a shell (it brings the file up to date first).",
]


def orchestrator_tools(tools: list[tuple[str, str, list[str]]], repository: list[str]) -> str:
    """The generated part of ORCHESTRATOR.md: podium's tools as the MCP server declares them, the repository's
    conventions (``repository``: its lines) and the loop that ties them together."""
    lines = ["## Your tools (the `podium` MCP server; the same as `podium <command>` in a shell)", ""]
    for name, description, params in tools:
        first = " ".join(description.split("\n\n")[0].split())
        lines.append(f"- `{name}({', '.join(params)})` — {first}")
    lines += ["", "## This repository (podium detected it; podium enforces it)", "", *repository, "", *LOOP]
    return "\n".join(lines)


def orchestrator_agent(tools: list[tuple[str, str, list[str]]]) -> str:
    """The orchestrator's role for any repository (the Claude Code plugin's agent): ORCHESTRATOR.md's intro and
    tools, and where this repository's conventions are."""
    return f"{ORCHESTRATOR_INTRO}\n{orchestrator_tools(tools, ANY_REPOSITORY)}\n"


def orchestrator(repo: Repo, config: Config, tools: list[tuple[str, str, list[str]]]) -> RoleFile:
    """ORCHESTRATOR.md, from podium's tools (``tools``: name, description, parameters with ``?`` for the
    optional ones — the service layer's catalog gives them) and what podium detects in the repository."""
    from podium.detect import survey

    found = survey(repo, config, versions=False)
    facts = [f"Work starts from a freshly fetched `{found.base.value}`." if found.base.value else
             "No base branch found on origin yet.",
             f"Branch names: {found.branches.value} ({found.branches.source})." if found.branches.value else
             "Branch names: podium's default.",
             f"Tickets: {found.tracker.value}." if found.tracker.value else "Tickets: no tracker configured.",
             f"Pull requests: {found.forge.value}." if found.forge.value else "Pull requests: no forge configured.",
             "Tests: " + (", ".join(f"`{t.command}`" for t in found.tests) or "none detected") + "."]
    policy = ", ".join(config.gate_pass) if config.gate_pass else "nothing: every commit and push waits for the human"
    facts.append(f"The gate lets through without asking: {policy}.")
    return render(repo, config, "ORCHESTRATOR", orchestrator_tools(tools, [f"- {f}" for f in facts]),
                  ORCHESTRATOR_INTRO)


def tester(repo: Repo, config: Config, worktree: Path | None = None, mcp: bool = True,
           live: bool = False) -> RoleFile:
    """TESTER.md, with the test commands detected in ``worktree`` (default: the checkout podium runs in), and
    the live browser when the tester has one."""
    commands = detect_test_commands(worktree or repo.toplevel)
    return render(repo, config, "TESTER", tester_tools(commands, mcp=mcp, live=live), TESTER_INTRO)
