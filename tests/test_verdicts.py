"""Test verdicts parsed from real runs of pytest, unittest, node's test runner, go test and cargo test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import toolchain
from podium.verdict import parse


def run(argv: list[str], cwd: Path, **env: str) -> tuple[str, int]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", **env})
    return proc.stdout + proc.stderr, proc.returncode


def test_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_calc.py").write_text(
        "def test_add():\n    assert 1 + 1 == 2\n\ndef test_sub():\n    assert 2 - 1 == 0\n\n"
        "class TestMul:\n    def test_mul(self):\n        assert 2 * 2 == 5\n")
    out, code = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
    v = parse(out, code)
    assert v is not None and v.runner == "pytest" and v.passed is False
    assert v.counts == {"failed": 2, "passed": 1}
    assert v.failed_tests == ["test_calc.py::test_sub", "test_calc.py::TestMul::test_mul"]
    assert parse(out) is not None and parse(out).passed is False  # without the exit code, from the output alone
    (tmp_path / "test_calc.py").write_text("def test_add():\n    assert True\n")
    out, code = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
    assert parse(out).passed is True and parse(out, code).counts == {"passed": 1}  # type: ignore[union-attr]


def test_unittest(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n\n"
        "    def test_bad(self):\n        self.assertEqual(1, 2)\n\n"
        "    def test_boom(self):\n        raise KeyError(1)\n")
    out, code = run([sys.executable, "-m", "unittest"], tmp_path)
    v = parse(out, code)
    assert v is not None and v.runner == "unittest" and v.passed is False
    assert v.counts == {"ran": 3, "failed": 1, "errors": 1}
    assert sorted(v.failed_tests) == ["test_x.T.test_bad", "test_x.T.test_boom"]


NODE_TESTS = """const test = require('node:test');
const assert = require('node:assert');
test('adds', () => { assert.strictEqual(1 + 1, 2); });
test('subtracts', () => { assert.strictEqual(2 - 1, 0); });
test.describe('math', () => { test.it('multiplies', () => { assert.strictEqual(2 * 2, 5); }); });
"""


@pytest.mark.parametrize("reporter", ["tap", "spec"])
def test_node_test_runner(tmp_path: Path, reporter: str) -> None:
    (tmp_path / "calc.test.js").write_text(NODE_TESTS)
    out, code = run([toolchain("node"), "--test", f"--test-reporter={reporter}"], tmp_path)
    v = parse(out, code)
    assert v is not None and v.runner == "node --test" and v.passed is False
    assert v.counts["passed"] == 1 and v.counts["failed"] == 2 and v.counts["tests"] == 3
    assert v.failed_tests == ["subtracts", "multiplies"]  # the tests, not the suite that holds one


def test_go_test(tmp_path: Path) -> None:
    go = toolchain("go")
    (tmp_path / "go.mod").write_text("module example.com/calc\n\ngo 1.19\n")
    (tmp_path / "calc.go").write_text("package calc\n\nfunc Add(a, b int) int { return a + b }\n")
    (tmp_path / "calc_test.go").write_text(
        'package calc\n\nimport "testing"\n\n'
        'func TestAdd(t *testing.T) { if Add(1, 1) != 2 { t.Fatal("bad") } }\n'
        'func TestSub(t *testing.T) { if Add(2, -1) != 0 { t.Fatalf("got %d", Add(2, -1)) } }\n'
        'func TestTable(t *testing.T) {\n\tt.Run("zero", func(t *testing.T) {})\n'
        '\tt.Run("neg", func(t *testing.T) { t.Error("neg broken") })\n}\n')
    cache = {"GOCACHE": str(tmp_path / ".cache"), "GOPATH": str(tmp_path / ".gopath"), "GOPROXY": "off",
             "GOFLAGS": "-mod=mod"}
    out, code = run([go, "test", "./..."], tmp_path, **cache)
    v = parse(out, code)
    assert v is not None and v.runner == "go test" and v.passed is False
    assert v.failed_tests == ["TestSub", "TestTable/neg"] and v.counts["failed"] == 2
    verbose, code = run([go, "test", "-v", "./..."], tmp_path, **cache)
    assert parse(verbose, code).counts["passed"] == 2  # type: ignore[union-attr]  # TestAdd, TestTable/zero


def test_cargo_test(tmp_path: Path) -> None:
    cargo = toolchain("cargo")
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src" / "lib.rs").write_text(
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n#[cfg(test)]\nmod tests {\n    use super::*;\n"
        "    #[test] fn adds() { assert_eq!(add(1, 1), 2); }\n"
        "    #[test] fn subtracts() { assert_eq!(add(2, -1), 0); }\n    #[test] #[ignore] fn slow() {}\n}\n")
    out, code = run([cargo, "test", "--offline"], tmp_path, CARGO_TARGET_DIR=str(tmp_path / "target"))
    v = parse(out, code)
    assert v is not None and v.runner == "cargo test" and v.passed is False
    assert v.counts == {"passed": 1, "failed": 1, "ignored": 1} and v.failed_tests == ["tests::subtracts"]
    assert "failing: tests::subtracts" in v.line()


def test_unrecognised_output_is_no_verdict() -> None:
    assert parse("compiling...\nall done\n", 0) is None


def test_a_short_nested_tap_failure_is_kept_and_its_suite_is_not_counted() -> None:
    """The suite's own YAML (failureType: 'subtestsFailed') must not swallow the test just above it."""
    tap = ("# Subtest: suite\n    # Subtest: inner\n    not ok 1 - inner\n      ---\n      duration_ms: 1\n"
           "      failureType: 'testCodeFailure'\n      ...\n    1..1\nnot ok 1 - suite\n  ---\n  duration_ms: 2\n"
           "  type: 'suite'\n  failureType: 'subtestsFailed'\n  ...\n1..1\n# tests 1\n# pass 0\n# fail 1\n")
    v = parse(tap, 1)
    assert v is not None and v.failed_tests == ["inner"] and v.counts == {"tests": 1, "passed": 0, "failed": 1}


def test_the_repositorys_own_test_commands_are_found(tmp_path: Path) -> None:
    from podium.verdict import detect_test_commands

    (tmp_path / "Makefile").write_text("build:\n\tcc main.c\n\ntest: build\n\t./run-tests\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.pytest.ini_options]\naddopts = '-q'\n")
    (tmp_path / "package.json").write_text('{"scripts": {"test": "vitest run"}}')
    (tmp_path / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    (tmp_path / "go.mod").write_text("module example.com/x\n")
    (tmp_path / "Cargo.toml").write_text("[package]\nname = 'x'\n")
    (tmp_path / "App.sln").write_text("")
    found = [(c.command, c.why) for c in detect_test_commands(tmp_path)]
    assert found == [("make test", "Makefile has a test target"),
                     ("python -m pytest", "pyproject.toml [tool.pytest.ini_options]"),
                     ("pnpm test", "package.json scripts.test: vitest run"), ("go test ./...", "go.mod"),
                     ("cargo test", "Cargo.toml"), ("dotnet test", "App.sln")]


def test_npm_init_placeholder_is_not_a_test_command_and_unittest_is_the_fallback(tmp_path: Path) -> None:
    from podium.verdict import detect_test_commands

    (tmp_path / "package.json").write_text('{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}')
    (tmp_path / "test_thing.py").write_text("import unittest\n")
    (tmp_path / "tox.ini").write_text("[tox]\nenvlist = py311\n")
    assert [c.command for c in detect_test_commands(tmp_path)] == ["python -m unittest", "tox"]
    assert detect_test_commands(tmp_path / "nowhere") == []


def test_a_detected_command_runs_and_its_output_gives_the_verdict(tmp_path: Path) -> None:
    from podium.verdict import detect_test_commands

    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a.py").write_text("def test_ok():\n    pass\n\ndef test_broken():\n    assert 0\n")
    [command] = detect_test_commands(tmp_path)
    argv = command.command.split()
    out, code = run([sys.executable, *argv[1:]] if argv[0] == "python" else argv, tmp_path)
    v = parse(out, code)
    assert v is not None and v.passed is False and v.failed_tests == ["test_a.py::test_broken"]


@pytest.mark.parametrize(("command", "runner", "selection"), [
    ("/bin/bash -lc '/usr/bin/python3 -m pytest -q -p no:cacheprovider 2>&1'", "pytest", None),
    ("/bin/bash -lc 'cd app && python -m pytest -q tests/test_calc.py::test_sub'", "pytest",
     "tests/test_calc.py::test_sub"),
    ("pytest -k 'sub and not add' -q", "pytest", "-k sub and not add"),
    ("pytest -s tests/test_x.py", "pytest", "tests/test_x.py"),
    ("PYTHONPATH=src uv run pytest tests/ 2>&1 | tail -5", "pytest", None),
    ("python3 -m unittest", "unittest", None), ("python3 -m unittest test_small", "unittest", "test_small"),
    ("go test ./...", "go test", None), ("go test ./pkg/calc", "go test", "./pkg/calc"),
    ("go test -run TestSub ./...", "go test", "-run TestSub"),
    ("cargo test -- --test-threads 1", "cargo test", None), ("cargo test subtracts", "cargo test", "subtracts"),
    ("npm test", "npm test", None), ("npm test -- src/calc.test.js", "npm test", "src/calc.test.js"),
    ("npx vitest run", "vitest", None), ("npx jest -t adds", "jest", "-t adds"),
    ("node --test", "node --test", None), ("node --test test/a.test.js", "node --test", "test/a.test.js"),
    ("mvn test -Dtest=CalcTest", "mvn test", "-Dtest=CalcTest"), ("make test", "make test", None),
    ("bash -lc \"printf '%s' 'import pytest' > test_a.py\"", None, None),  # a file written, no test run
])
def test_a_test_command_is_a_full_run_or_names_what_it_targets(command: str, runner: str | None,
                                                                selection: str | None) -> None:
    from podium.verdict import invocation

    found = invocation(command)
    assert ((found.runner, found.selection) if found else (None, None)) == (runner, selection)
