"""The ``aider`` adapter: aider (aider-chat) as a worker, one message per run, read from stdin
(``--message-file /dev/stdin``).

Output is plain text (``--no-pretty``): aider's banner (``Aider v…``, ``Model: …``, ``Git repo: …``), the model's
reply as it streams (a whole-file edit is a file's path, then its whole content fenced),
``Tokens: N sent, M received.`` after each request, then ``Applied edit to PATH`` for each file written. A
failed request is a ``litellm.…Error: …`` line, followed by ``Retrying in N seconds...`` when aider tries again;
aider exits 0 either way, so a run whose last request failed is podium's failure.

No sessions: aider keeps a chat history, not a session it can resume, so an aider job cannot be resumed, aider
cannot be the tester (whose turns resume one session), and it cannot run read-only (it writes whatever its
model lists). It is a worker.

Flags: headless, aider gets ``--yes-always`` to create the files its model writes; that would also say yes to
upgrading aider, to analytics and to release notes in a browser, so podium turns those questions off
(``--no-check-update``, ``--no-analytics``, ``--no-show-release-notes``). podium owns commits:
``--no-auto-commits`` (aider commits nothing on the job's branch, dirty files included), and ``--no-gitignore``
(aider would add ``.aider*`` to ``.gitignore``, a change in the job's work; podium keeps aider's files out of git
in ``info/exclude`` instead). Your own configuration (``.aider.conf.yml``, ``AIDER_*``, ``.env``) holds for the
rest; an arg in podium's aider args that contradicts one of these (``--auto-commits``, ``--commit``, ``--pretty``,
a message of its own) is refused, naming both.

Model: ``--model``; effort: ``--reasoning-effort`` (``max`` is ``xhigh``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import ClassVar

from podium.agents import CliAgent, Event, Preflight, check_endpoint, choice_flags, find_executable, flag_value
from podium.errors import AgentError
from podium.git import Repo, exclude

STDIN = ("--message-file", "/dev/stdin")
DEFAULT_FLAGS = ("--yes-always", "--no-auto-commits", "--no-gitignore", "--no-pretty", "--no-check-update",
                 "--no-analytics", "--no-show-release-notes")
# an arg of the user's that undoes one of podium's flags: the flag's positive form, or one of these
CONTRADICTS = {"--commit": "--no-auto-commits", **{f: " ".join(STDIN) for f in
                                                  ("--message", "--msg", "-m", "--message-file", "-f")}}
MODEL_SHORTCUTS = ("--opus", "--sonnet", "--haiku", "--4", "--4o", "--mini", "--4-turbo", "--35turbo", "--deepseek",
                   "--o1-mini", "--o1-preview")
EFFORTS = {"max": "xhigh"}
OWN_FILES = "/.aider*"  # its chat and input history, its repo map's cache: at the worktree's top

BANNER = re.compile(r"(Aider v\d|Main model: |Model: |Weak model: |Editor model: |Git repo: |Repo-map: )")
TOKENS = re.compile(r"Tokens: ([\d.]+k?) sent(?:, .*?)?, ([\d.]+k?) received\.")
APPLIED = re.compile(r"Applied edit to (.+)")
FAILED = re.compile(r"litellm\.\w+: ")
RETRYING = re.compile(r"Retrying in [\d.]+ seconds")
WARNING = re.compile(r"(Warning\b|Skipping edits to |Unable to )")
FENCE = "```"


def tokens(count: str) -> int:
    """aider's rounded count (``768``, ``1.2k``, ``12k``) as a number."""
    return round(float(count[:-1]) * 1000) if count.endswith("k") else int(float(count))


class AiderParser:
    """aider's text, line by line: what the model says, edits, usage, failed requests. A line is held until the
    next shows what it was: a file listing's path (a fence follows) or the file aider is about to write (``Applied
    edit to`` it follows) is no message."""

    def __init__(self) -> None:
        self.said: list[str] = []  # the messages since the last request
        self.reply = ""  # the model's last complete reply, file listings aside
        self.held: str | None = None
        self.fenced = False
        self.failure: str | None = None  # a failed request that aider has not retried (yet)

    def feed(self, line: str) -> list[Event]:
        text = line.strip()
        if text.startswith(FENCE):
            if not self.fenced and self.held and " " not in self.held:
                self.held = None
            self.fenced = not self.fenced
            return []
        if self.fenced or not text:
            return []
        applied = APPLIED.match(text)
        if applied and self.held == applied[1]:
            self.held = None
        return self.flush() + self.line(text)

    def flush(self) -> list[Event]:
        """The held line, a message after all."""
        held, self.held = self.held, None
        if held is None:
            return []
        self.said.append(held)
        return [Event("message", {"text": held})]

    def line(self, text: str) -> list[Event]:
        if BANNER.match(text):
            self.said = []
            return []
        if m := TOKENS.match(text):
            self.reply, self.said, self.failure = "\n".join(self.said), [], None
            return [Event("usage", {"input_tokens": tokens(m[1]), "output_tokens": tokens(m[2])})]
        if m := APPLIED.match(text):
            return [Event("file_change", {"path": m[1], "change": "edit"})]
        if FAILED.match(text):
            self.failure = text
            return []
        if RETRYING.match(text):
            retried, self.failure = self.failure, None
            return [Event("retry", {"message": retried or text})]
        if WARNING.match(text):
            return [Event("warning", {"message": text})]
        self.held = text
        return []

    def final(self, exit_code: int) -> Event:
        self.flush()
        error = f"aider exited with code {exit_code}" if exit_code != 0 else self.failure
        return Event("final", {"text": self.reply or "\n".join(self.said), "success": error is None,
                               "error": error})


class AiderAgent(CliAgent):
    name: ClassVar[str] = "aider"
    can_resume: ClassVar[bool] = False
    wires: ClassVar[frozenset[str]] = frozenset()  # it writes what its model lists: no read-only run

    def _choices(self) -> list[str]:
        shortcut = next((f for f in MODEL_SHORTCUTS if f in self.args), None)
        effort = EFFORTS.get(str(self.effort), self.effort)
        return [*choice_flags("aider", self.args, self.model, ("--model",), "model", ["--model", str(self.model)],
                              given=shortcut),
                *choice_flags("aider", self.args, effort, ("--reasoning-effort",), "effort",
                              ["--reasoning-effort", str(effort)])]

    def _conflict(self) -> str | None:
        for arg in self.args:
            flag = arg.partition("=")[0]
            negated = "--no-" + flag.removeprefix("--")
            ours = CONTRADICTS.get(flag) or (negated if flag.startswith("--") and negated in DEFAULT_FLAGS else None)
            if ours:
                return f"{flag} in podium's aider args contradicts podium's {ours}, which an aider worker needs"
        return None

    def _exe(self) -> str:
        return find_executable("aider", "PODIUM_AIDER", "python -m pip install aider-install && aider-install")

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        check_endpoint("aider", flag_value(self.args, "--openai-api-base") or os.environ.get("AIDER_OPENAI_API_BASE")
                       or os.environ.get("OPENAI_API_BASE") or os.environ.get("OPENAI_BASE_URL"))
        self._choices()
        exclude(Repo.find(workdir), OWN_FILES)
        return Preflight(conflict=self._conflict())

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        preflight.checked()
        return [self._exe(), *STDIN, *DEFAULT_FLAGS, *self._choices(), *self.args]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        raise AgentError("the aider agent has no sessions to resume; delegate a new job instead")

    def parser(self) -> AiderParser:
        return AiderParser()

    def transcript(self, session_id: str) -> Path | None:
        return None
