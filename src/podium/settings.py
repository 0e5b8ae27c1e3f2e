"""The schema of ``podium.toml``: every table and key podium reads, with its type and bounds.

``parse`` checks a parsed file against it and returns ``Config``'s fields; the first problem is one line naming
the key (``jobs.stal_after: unknown setting; did you mean stall_after?``, ``agents.codex.args: a list of
strings, not "--oops"``, ``jobs.stall_after: must be a number of seconds over 0 and at most 2592000, not
nan``). The ``[tracker]`` and ``[forge]`` tables hold the chosen provider's own options: the provider checks
those when it is built; an agent podium does not ship (a plugin) takes any options.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from podium.errors import UsageError
from podium.limits import (
    DEFAULT_STALL_AFTER,
    GATE_SMALL_LINES,
    MAX_GATE_SMALL_LINES,
    MAX_STALL_AFTER,
    WORKER_STALL_AFTER,
)

Name = Annotated[StrictStr, Field(min_length=1, pattern=r"\S")]
Seconds = Annotated[float, Field(gt=0, le=MAX_STALL_AFTER, allow_inf_nan=False)]


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Jobs(Table):
    stall_after: Seconds = DEFAULT_STALL_AFTER
    default_agent: Name = "codex"


class Branches(Table):
    template: StrictStr | None = None
    base: Name | None = None


class Provider(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    kind: Name | None = None


class Gate(Table):
    pass_: list[Literal["docs-only", "small", "always"]] = Field(default_factory=list, alias="pass")
    small_lines: Annotated[StrictInt, Field(ge=0, le=MAX_GATE_SMALL_LINES)] = GATE_SMALL_LINES


class Screenshots(Table):
    dir: Name | None = None
    browser: Name | None = None


class Tester(Table):
    """``[tester] agent``, and ``serve``: the command that serves the app under test on ``{port}`` ("": none;
    absent: detected)."""

    agent: Name = "claude"
    serve: StrictStr | None = None


Effort = Literal["low", "medium", "high", "xhigh", "max"]


class Role(Table):
    """One role's agent and how it runs: ``[roles.worker] agent = "codex"``, ``model = "gpt-5.2"``,
    ``effort = "xhigh"``, ``args = [...]`` (added to the agent's own ``[agents.X] args``), ``stall_after``."""

    agent: Name | None = None
    model: Name | None = None
    effort: Effort | None = None
    args: list[StrictStr] = Field(default_factory=list)
    stall_after: Seconds | None = None


class Roles(Table):
    dir: Name = ".podium/roles"
    orchestrator: Role = Field(default_factory=Role)
    worker: Role = Field(default_factory=Role)
    tester: Role = Field(default_factory=Role)
    distill: Role = Field(default_factory=Role)


class CliAgent(Table):
    args: list[StrictStr] = Field(default_factory=list)


class CommandAgent(Table):
    command: Name | None = None
    args: list[StrictStr] = Field(default_factory=list)


class Engine(Table):
    """``[engine]``: where jobs run — ``local`` (this machine's detached runners, the default) or ``temporal``
    (``podium worker`` processes of a Temporal cluster)."""

    kind: Literal["local", "temporal"] = "local"
    address: Name = "localhost:7233"
    namespace: Name = "default"
    task_queue: Name = "podium"
    tls: StrictBool = False
    tls_ca: Name | None = None
    tls_cert: Name | None = None
    tls_key: Name | None = None
    api_key_env: Name | None = None


class Plugin(BaseModel):
    model_config = ConfigDict(extra="allow")


class Settings(Table):
    jobs: Jobs = Field(default_factory=Jobs)
    branches: Branches = Field(default_factory=Branches)
    tracker: Provider = Field(default_factory=Provider)
    forge: Provider = Field(default_factory=Provider)
    gate: Gate = Field(default_factory=Gate)
    screenshots: Screenshots = Field(default_factory=Screenshots)
    tester: Tester = Field(default_factory=Tester)
    roles: Roles = Field(default_factory=Roles)
    engine: Engine = Field(default_factory=Engine)
    agents: dict[str, dict[str, Any]] = Field(default_factory=dict)


ROLE_NAMES = ("orchestrator", "worker", "tester", "distill")
AGENT_SCHEMAS: dict[str, type[BaseModel]] = {
    **dict.fromkeys(("codex", "claude", "gemini", "opencode", "kilo", "qwen", "pi", "copilot", "droid",
                      "aider", "cline"), CliAgent),
    "command": CommandAgent,
}


def parse(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``Config``'s fields from a parsed ``podium.toml``; UsageError naming the first problem."""
    try:
        settings = Settings.model_validate(data)
        agents: dict[str, dict[str, Any]] = {}
        for name, options in settings.agents.items():
            schema = AGENT_SCHEMAS.get(name, Plugin)
            try:
                agents[name] = schema.model_validate(options).model_dump(exclude_unset=True)
            except ValidationError as e:
                raise UsageError(f"{path}: {_problem(e, prefix=('agents', name))}") from None
    except ValidationError as e:
        raise UsageError(f"{path}: {_problem(e)}") from None
    jobs, shots = settings.jobs, settings.screenshots
    roles = {name: role.model_dump(exclude_defaults=True) for name in ROLE_NAMES
             if (role := getattr(settings.roles, name)).model_dump(exclude_defaults=True)}
    if "stall_after" not in (data.get("jobs") or {}):  # without a window for every role, workers get a long one
        roles.setdefault("worker", {}).setdefault("stall_after", WORKER_STALL_AFTER)
    return {
        "stall_after": float(jobs.stall_after),
        "default_agent": jobs.default_agent,
        "agents": agents,
        "branch_template": settings.branches.template,
        "base": settings.branches.base,
        "tracker": settings.tracker.model_dump(exclude_none=True),
        "forge": settings.forge.model_dump(exclude_none=True),
        "gate_pass": tuple(settings.gate.pass_),
        "gate_small_lines": settings.gate.small_lines,
        "screenshots_dir": shots.dir,
        "browser": shots.browser,
        "tester_agent": settings.tester.agent,
        "tester_serve": settings.tester.serve,
        "roles_dir": settings.roles.dir,
        "roles": roles,
        "engine": settings.engine.model_dump(exclude_defaults=True),
    }


def _problem(error: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    """The first of pydantic's errors as one line: the key, what it must be, what it is."""
    first = error.errors()[0]
    loc = [*prefix, *(str(p) for p in first["loc"])]
    key = ".".join(loc)
    kind, value = first["type"], first.get("input")
    if kind == "extra_forbidden":
        known = _known(loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"; did you mean {close[0]}?" if close else (f"; known: {', '.join(known)}" if known else "")
        return f"{key}: unknown setting{hint}"
    return f"{key}: {_expected(loc, kind, first)}, not {_shown(value)}"


def _known(loc: list[str]) -> list[str]:
    """The keys the table at ``loc`` takes."""
    model: type[BaseModel] | None = Settings
    if loc[:1] == ["agents"] and len(loc) == 2:
        model = AGENT_SCHEMAS.get(loc[1])
    else:
        for part in loc:
            field_info = model.model_fields.get(part) if model else None
            annotation = field_info.annotation if field_info else None
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _expected(loc: list[str], kind: str, error: Any) -> str:
    if loc[-1] == "effort":
        return "one of low, medium, high, xhigh, max"
    if loc[-1] == "stall_after":
        return f"a number of seconds over 0 and at most {MAX_STALL_AFTER:.0f}"
    if loc[-1] == "small_lines":
        return f"a whole number of lines from 0 to {MAX_GATE_SMALL_LINES}"
    if loc[-2:-1] == ["pass"] or loc[-1] == "pass":
        return "a list of docs-only, small, always" if kind != "literal_error" else "one of docs-only, small, always"
    if loc[-1] == "args" or (len(loc) > 1 and loc[-2] == "args"):
        return "a list of strings" if loc[-1] == "args" else "a string"
    if kind in ("model_type", "dict_type"):
        return "a table"
    if kind in ("string_type", "string_too_short", "string_pattern_mismatch"):
        return "a non-empty string" if kind != "string_type" else "a string"
    return str(error.get("msg", "not valid")).lower()


def _shown(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."
