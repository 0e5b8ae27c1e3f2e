"""Test commands and verdicts: how a repository runs its tests, and what the runners' own output says.

``parse`` recognises pytest, unittest, node's test runner (TAP and spec reporters),
jest/vitest, go test and cargo test by what they print, and returns the counts, the
names of the failing tests and whether the run passed (its exit code when known, else
what the runner itself said). ``detect_test_commands`` finds the repository's own ways to
run its tests (Makefile targets, pytest/unittest, package.json, go.mod, Cargo.toml, .NET,
Maven, Gradle, RSpec). ``invocation`` reads a shell command line the way a shell would, finds the
test runner it runs, and what part of the suite its arguments select (a full run selects nothing).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from podium.text import verdict_word

_PYTEST_SUMMARY = re.compile(r"^(?:=+ )?((?:\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)"
                             r"(?:, )?)+) in [\d.]+s", re.MULTILINE)
_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+?)(?: - .*)?$", re.MULTILINE)
_UNIT_RAN = re.compile(r"^Ran (\d+) tests? in", re.MULTILINE)
_UNIT_END = re.compile(r"^(OK|FAILED)(?: \(([^)]*)\))?\s*$", re.MULTILINE)
_UNIT_FAILED = re.compile(r"^(?:FAIL|ERROR): (\w+) \(([\w.]+)\)", re.MULTILINE)
_TAP_COUNT = re.compile(r"^# (tests|pass|fail|skipped|todo|cancelled) (\d+)$", re.MULTILINE)
_SPEC_COUNT = re.compile(r"^ℹ (tests|pass|fail|skipped|todo|cancelled) (\d+)$", re.MULTILINE)
_TAP_NOT_OK = re.compile(r"^(\s*)not ok \d+ - (.+?)(?: # .*)?$")
_SPEC_FAILING = re.compile(r"^✖ (.+?) \([\d.]+m?s\)$", re.MULTILINE)
_JEST = re.compile(r"^Tests:\s+(.*?)(\d+) total", re.MULTILINE)
_VITEST = re.compile(r"^\s*Tests\s+(.*?)\((\d+)\)", re.MULTILINE)
_JEST_FAILED = re.compile(r"^\s+(?:✕|×) (.+?)(?: \(\d+ ?m?s\))?$", re.MULTILINE)
_GO_FAIL = re.compile(r"^\s*--- FAIL: (\S+)", re.MULTILINE)
_GO_PASS = re.compile(r"^\s*--- PASS: (\S+)", re.MULTILINE)
_GO_PKG = re.compile(r"^(ok|FAIL)\s+(\S+)\s+(?:[\d.]+s|\(cached\)|\[)", re.MULTILINE)
_CARGO_RESULT = re.compile(r"^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored", re.MULTILINE)
_CARGO_FAILED = re.compile(r"^test (\S+) \.\.\. FAILED$", re.MULTILINE)
MAX_NAMES = 50


@dataclass
class Verdict:
    runner: str
    passed: bool | None  # None: neither an exit code nor the runner's own output says
    counts: dict[str, int] = field(default_factory=dict)
    failed_tests: list[str] = field(default_factory=list)

    def line(self) -> str:
        return verdict_line(self.runner, self.passed, self.counts, self.failed_tests)


def verdict_line(label: str, passed: bool | None, counts: dict[str, int], failed_tests: list[str]) -> str:
    """``FAILED (pytest: 2 failed, 1 passed; failing: a, b)``: a verdict in one line."""
    word = verdict_word(passed)
    numbers = ", ".join(f"{n} {k}" for k, n in counts.items())
    names = ""
    if failed_tests:
        more = len(failed_tests) - 3
        names = "; failing: " + ", ".join(failed_tests[:3]) + (f" and {more} more" if more > 0 else "")
    return f"{word} ({label}{': ' + numbers if numbers else ''}{names})"


def parse(output: str, exit_code: int | None = None) -> Verdict | None:
    """The verdict of a test run from what its runner printed; None when no runner's output is recognised."""
    for parser in (_cargo, _go, _pytest, _unittest, _node, _jest):
        verdict = parser(output)
        if verdict is not None:
            if exit_code is not None:
                verdict.passed = exit_code == 0
            verdict.failed_tests = verdict.failed_tests[:MAX_NAMES]
            return verdict
    return None


def _decide(counts: dict[str, int], failed: list[str]) -> bool | None:
    if counts.get("failed") or counts.get("errors") or failed:
        return False
    return True if counts.get("passed") else None


def _pytest(output: str) -> Verdict | None:
    found = _PYTEST_SUMMARY.findall(output)
    if not found:
        return None
    counts: dict[str, int] = {}
    for part in found[-1].split(", "):
        n, kind = part.split(" ", 1)
        kind = {"error": "errors", "warning": "warnings"}.get(kind, kind)
        counts[kind] = int(n)
    failed = list(dict.fromkeys(_PYTEST_FAILED.findall(output)))
    return Verdict("pytest", _decide(counts, failed), counts, failed)


def _unittest(output: str) -> Verdict | None:
    ran, end = _UNIT_RAN.findall(output), _UNIT_END.findall(output)
    if not ran or not end:
        return None
    counts = {"ran": int(ran[-1])}
    status, detail = end[-1]
    for item in filter(None, (detail or "").split(", ")):
        key, _, value = item.partition("=")
        if value.isdigit():
            counts[{"failures": "failed", "errors": "errors"}.get(key, key)] = int(value)
    # "FAIL: test_bad (test_x.T)" before Python 3.11, "FAIL: test_bad (test_x.T.test_bad)" since
    failed = [where if where.endswith(f".{name}") else f"{where}.{name}"
              for name, where in _UNIT_FAILED.findall(output)]
    return Verdict("unittest", status == "OK", counts, failed)


def _node(output: str) -> Verdict | None:
    tap, spec = _TAP_COUNT.findall(output), _SPEC_COUNT.findall(output)
    if not tap and not spec:
        return None
    counts = {{"pass": "passed", "fail": "failed"}.get(k, k): int(n) for k, n in (tap or spec)}
    counts = {k: v for k, v in counts.items() if v or k in ("passed", "failed", "tests")}
    if tap:
        failed = _tap_failures(output)
    else:
        tail = output.split("✖ failing tests:", 1)
        failed = _SPEC_FAILING.findall(tail[1]) if len(tail) == 2 else []
    return Verdict("node --test", _decide(counts, failed), counts, list(dict.fromkeys(failed)))


def _tap_failures(output: str) -> list[str]:
    """Failing tests, not the suites that fail because of them (TAP marks those subtestsFailed)."""
    lines = output.splitlines()
    failed = []
    for i, line in enumerate(lines):
        m = _TAP_NOT_OK.match(line)
        if not m:
            continue
        indent = m.group(1) + "  "  # the test's YAML block: "<indent>---" … "<indent>..."
        block: list[str] = []
        if i + 1 < len(lines) and lines[i + 1] == f"{indent}---":
            for following in lines[i + 2:]:
                if following == f"{indent}...":
                    break
                block.append(following)
        if f"{indent}failureType: 'subtestsFailed'" not in block:
            failed.append(m.group(2))
    return failed


def _jest(output: str) -> Verdict | None:
    m = _JEST.search(output) or _VITEST.search(output)
    if m is None:
        return None
    counts = {"tests": int(m.group(2))}
    for n, kind in re.findall(r"(\d+) (passed|failed|skipped|todo)", m.group(1)):
        counts[kind] = int(n)
    return Verdict("jest" if m.re is _JEST else "vitest", _decide(counts, []), counts,
                   list(dict.fromkeys(_JEST_FAILED.findall(output))))


def _go(output: str) -> Verdict | None:
    packages = _GO_PKG.findall(output)
    fails = _GO_FAIL.findall(output)
    if not packages and not fails:
        return None
    leaves = [name for name in dict.fromkeys(fails) if not any(other.startswith(name + "/") for other in fails)]
    counts = {"failed": len(leaves)}
    passes = _GO_PASS.findall(output)
    if passes:
        counts["passed"] = len([p for p in dict.fromkeys(passes) if not any(o.startswith(p + "/") for o in passes)])
    counts["packages"] = len(packages)
    failed_packages = [pkg for status, pkg in packages if status == "FAIL"]
    if failed_packages:
        counts["packages_failed"] = len(failed_packages)
    passed = not leaves and not failed_packages if packages else (False if leaves else None)
    return Verdict("go test", passed, counts, leaves)


def _cargo(output: str) -> Verdict | None:
    results = _CARGO_RESULT.findall(output)
    if not results:
        return None
    counts = {"passed": sum(int(r[1]) for r in results), "failed": sum(int(r[2]) for r in results)}
    ignored = sum(int(r[3]) for r in results)
    if ignored:
        counts["ignored"] = ignored
    failed = list(dict.fromkeys(_CARGO_FAILED.findall(output)))
    return Verdict("cargo test", all(r[0] == "ok" for r in results), counts, failed)


@dataclass
class TestCommand:
    command: str
    why: str  # the file that says so


_NPM_DEFAULT_TEST = "no test specified"


def detect_test_commands(worktree: str | Path) -> list[TestCommand]:
    """The repository's own ways to run its tests, from the files that declare them (a Makefile target first:
    where a team has one, it is the entry point they use)."""
    root = Path(worktree)
    found: list[TestCommand] = []

    def text(name: str) -> str:
        try:
            return (root / name).read_text(errors="replace")
        except OSError:
            return ""

    makefile = next((n for n in ("Makefile", "makefile", "GNUmakefile") if (root / n).is_file()), None)
    if makefile:
        for target in ("test", "check"):
            if re.search(rf"^{target}\s*:", text(makefile), re.MULTILINE):
                found.append(TestCommand(f"make {target}", f"{makefile} has a {target} target"))
                break
    pyproject, setup_cfg, tox = text("pyproject.toml"), text("setup.cfg"), text("tox.ini")
    pytest_signs = [(n, ok) for n, ok in (
        ("pytest.ini", (root / "pytest.ini").is_file()),
        ("pyproject.toml [tool.pytest.ini_options]", "[tool.pytest.ini_options]" in pyproject),
        ("setup.cfg [tool:pytest]", "[tool:pytest]" in setup_cfg),
        ("tox.ini [pytest]", "[pytest]" in tox),
        ("conftest.py", (root / "conftest.py").is_file() or (root / "tests" / "conftest.py").is_file()),
        ("pytest in pyproject.toml", re.search(r"[\"']pytest[\"'<>=~ ]", pyproject) is not None),
    ) if ok]
    if pytest_signs:
        found.append(TestCommand("python -m pytest", pytest_signs[0][0]))
    elif any(root.glob("test*.py")) or any(root.glob("tests/test*.py")):
        found.append(TestCommand("python -m unittest", "test*.py files and no pytest configuration"))
    if "[tox]" in tox or "[tox:tox]" in setup_cfg:
        found.append(TestCommand("tox", "tox.ini"))
    package = text("package.json")
    if package:
        try:
            script = (json.loads(package).get("scripts") or {}).get("test")
        except ValueError:
            script = None
        if script and _NPM_DEFAULT_TEST not in script:
            manager = next((m for lock, m in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"),
                                              ("bun.lockb", "bun"), ("bun.lock", "bun")) if (root / lock).is_file()),
                           "npm")
            found.append(TestCommand(f"{manager} {'run test' if manager == 'bun' else 'test'}",
                                     f"package.json scripts.test: {script}"))
    if (root / "go.mod").is_file():
        found.append(TestCommand("go test ./...", "go.mod"))
    if (root / "Cargo.toml").is_file():
        found.append(TestCommand("cargo test", "Cargo.toml"))
    dotnet = next(iter([*root.glob("*.sln"), *root.glob("*.csproj")]), None)
    if dotnet is not None:
        found.append(TestCommand("dotnet test", dotnet.name))
    if (root / "pom.xml").is_file():
        found.append(TestCommand("./mvnw test" if (root / "mvnw").is_file() else "mvn test", "pom.xml"))
    gradle = next((n for n in ("build.gradle.kts", "build.gradle") if (root / n).is_file()), None)
    if gradle:
        found.append(TestCommand("./gradlew test" if (root / "gradlew").is_file() else "gradle test", gradle))
    if (root / "Gemfile").is_file() and (root / "spec").is_dir():
        found.append(TestCommand("bundle exec rspec", "Gemfile and spec/"))
    return found


@dataclass(frozen=True)
class Invocation:
    """A test runner as a shell command line runs it, and the part of the suite it selects."""

    runner: str  # "pytest", "go test", "npm test", …
    selection: str | None  # "tests/test_calc.py::test_sub", "-k sub", "./pkg": a targeted run; None: the suite


_SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}
_WRAPPERS = {"env", "time", "nice", "nohup", "sudo", "command", "exec", "npx", "pnpx", "bunx", "xvfb-run"}
_RUNS = {"uv", "poetry", "pipenv", "pdm", "hatch", "rye", "pixi"}  # `uv run pytest`
_RUNNERS = {"pytest": "pytest", "py.test": "pytest", "unittest": "unittest", "jest": "js", "vitest": "js",
            "mocha": "js", "rspec": "js", "phpunit": "js", "tox": "whole", "nox": "whole", "ctest": "whole"}
_SUBCOMMAND = {"go": "go", "cargo": "cargo", "dotnet": "whole", "mvn": "whole", "mvnw": "whole", "gradle": "whole",
               "gradlew": "whole", "npm": "js", "pnpm": "js", "yarn": "js", "bun": "js"}
# options that pick part of the suite, and (taking no value) the flags among them
_SELECT = {"pytest": {"-k", "-m", "--deselect", "--lf", "--last-failed", "--sw", "--stepwise"},
           "unittest": {"-k"}, "go": {"-run", "-skip"}, "cargo": {"-p", "--package", "--test", "--bin",
                                                                  "--example", "--lib", "--doc", "--skip"},
           "js": {"-t", "--testNamePattern", "--test-name-pattern", "--grep", "-g", "--filter", "-e", "--example",
                  "--testPathPattern", "--findRelatedTests", "--onlyChanged", "-o", "--changed", "--tag"},
           "whole": {"--tests", "--filter", "-R", "-L", "--test"}}
_FLAGS = {"--lf", "--last-failed", "--sw", "--stepwise", "--lib", "--doc", "--findRelatedTests", "--onlyChanged",
          "-o", "--changed"}
_VALUED = {"pytest": {"-p", "-c", "-o", "-W", "-n", "--tb", "--maxfail", "--rootdir", "--junitxml", "--cov",
                      "--cov-report", "--durations", "--basetemp", "--ignore", "--confcutdir", "--timeout",
                      "--log-level", "--log-cli-level", "--import-mode", "--dist", "--color", "--capture"},
           "unittest": {"-s", "-p", "-t"},
           "go": {"-count", "-timeout", "-tags", "-p", "-parallel", "-cpu", "-coverprofile", "-exec", "-covermode",
                  "-coverpkg", "-benchtime", "-o"},
           "cargo": {"--features", "-F", "-j", "--jobs", "--target", "--manifest-path", "--profile", "--target-dir",
                     "--color", "--test-threads", "--format"},
           "js": {"-c", "--config", "--reporter", "--test-reporter", "-w", "--maxWorkers", "--dir", "--root",
                  "--environment", "--project", "--format", "--timeout", "--require", "-r"},
           "whole": {"-e", "-s", "--session", "-C", "-j", "--logger", "--configuration", "-c"}}
_VITEST_COMMANDS = {"run", "watch", "dev", "bench", "related"}


def invocation(command: str) -> Invocation | None:
    """The test run a shell command line makes (``bash -lc 'cd x && python -m pytest -q tests/a.py::t'``): its
    runner and what it selects, from the runner's own arguments. None when no simple command in it runs a
    test runner (a file written with ``printf`` that mentions pytest is no test run)."""
    for words in simple_commands(command):
        found = _runner(words)
        if found is not None:
            runner, family, args = found
            return Invocation(runner, _selection(family, args))
    return None


def simple_commands(command: str, depth: int = 0) -> list[list[str]]:
    """The words of each simple command in a shell line, redirections dropped, ``bash -c SCRIPT`` unwrapped."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: words split on blanks are the best guess
        tokens = command.split()
    found: list[list[str]] = []
    words: list[str] = []
    skip = False
    for token in [*tokens, ";"]:
        if skip:
            skip = False
        elif token and set(token) <= set(";&|()"):
            if words:
                found.append(words)
            words = []
        elif token and set(token) <= set("<>&"):
            if words and words[-1].isdigit():
                words.pop()
            skip = True
        else:
            words.append(token)
    unwrapped: list[list[str]] = []
    for words in found:
        flag = next((i for i, w in enumerate(words[1:], 1) if re.fullmatch(r"-[a-z]*c[a-z]*", w)), None)
        if depth < 2 and Path(words[0]).name in _SHELLS and flag is not None and flag + 1 < len(words):
            unwrapped += simple_commands(words[flag + 1], depth + 1)
        else:
            unwrapped.append(words)
    return unwrapped


def _runner(words: list[str]) -> tuple[str, str, list[str]] | None:
    """(runner, its family, its arguments) when ``words`` runs a test runner, past ``VAR=x``, ``env``,
    ``uv run``, ``python -m`` and the like."""
    i = 0
    while i < len(words):
        name, following = Path(words[i]).name, words[i + 1 : i + 2]
        if re.match(r"^[A-Za-z_]\w*=", words[i]) or name in _WRAPPERS:
            i += 1
        elif name == "timeout":  # timeout 60 pytest
            i += 2
        elif ((name in _RUNS or name == "coverage") and following == ["run"]) or (
                name == "bundle" and following == ["exec"]) or (re.fullmatch(r"python[\d.]*", name)
                                                                 and following == ["-m"]):
            i += 2 + (name == "coverage" and words[i + 2 : i + 3] == ["-m"])
        else:
            break
    if i >= len(words):
        return None
    name, args = Path(words[i]).name, words[i + 1 :]
    if name in _RUNNERS:
        return name, _RUNNERS[name], args
    if name == "node" and "--test" in args:
        return "node --test", "js", [a for a in args if a != "--test"]
    if name == "make" and args[:1] in (["test"], ["check"]):
        return f"make {args[0]}", "whole", args[1:]
    verb = "test" if args[:1] == ["test"] else "run test" if args[:2] == ["run", "test"] else None
    if name in _SUBCOMMAND and verb:
        rest = args[len(verb.split()) :]
        return f"{name.removesuffix('w')} test", _SUBCOMMAND[name], rest[1:] if rest[:1] == ["--"] else rest
    return None


def _selection(family: str, args: list[str]) -> str | None:
    """What ``args`` select of the suite, in the runner's own words; None: the whole suite."""
    picked: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, _ = arg.partition("=")
        if arg == "--":
            pass
        elif arg.startswith("-D") and name in ("-Dtest", "-Dit.test"):  # maven
            picked.append(arg)
        elif arg.startswith("-"):
            if name in _SELECT.get(family, ()):
                value = "" if eq or name in _FLAGS or i + 1 >= len(args) else f" {args[i + 1]}"
                picked.append(arg + value)
                i += bool(value)
            elif re.fullmatch(r"-[km].+", arg) and family == "pytest":
                picked.append(arg)
            elif name in _VALUED.get(family, ()) and not eq:
                i += 1
        elif _positional_selects(family, arg, picked):
            picked.append(arg)
        i += 1
    return " ".join(picked) or None


def _positional_selects(family: str, arg: str, picked: list[str]) -> bool:
    """Whether a runner's positional argument picks part of the suite: a file, a node id, a test name, a package
    other than ``./...``; not the top-level tests directory, ``discover``, vitest's ``run``."""
    if family == "pytest":
        path = arg.rstrip("/").removeprefix("./")
        return "::" in arg or not (path in ("", ".") or ("/" not in path and "." not in path))
    if family == "unittest":
        return arg != "discover"
    if family == "go":
        return arg not in ("./...", "...", "all")
    if family == "js":
        return arg not in _VITEST_COMMANDS or bool(picked)
    return family == "cargo"
