"""Test verdicts from the test runners' own output, never from an agent's prose.

``parse`` recognises pytest, unittest, node's test runner (TAP and spec reporters),
jest/vitest, go test and cargo test by what they print, and returns the counts, the
names of the failing tests and whether the run passed (its exit code when known, else
what the runner itself said).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
        word = {True: "passed", False: "FAILED", None: "unknown"}[self.passed]
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        names = ""
        if self.failed_tests:
            shown = ", ".join(self.failed_tests[:3])
            names = f"; failing: {shown}" + (f" and {len(self.failed_tests) - 3} more" if len(self.failed_tests) > 3
                                             else "")
        return f"{word} ({self.runner}{': ' + counts if counts else ''}{names})"


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
