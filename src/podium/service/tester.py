"""Operations of the tester's side: a turn of a branch's tester session, a screenshot of the smoking gun."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from podium.errors import UsageError
from podium.service.catalog import operation
from podium.service.results import JobInfo

if TYPE_CHECKING:  # the browser and the tester's machinery load when they are used
    from podium import browser
    from podium.context import Context


@operation()
def test(
    ctx: Context,
    message: Annotated[str, "What changed and what to test: full suite, targeted tests, "
                            "screenshots of the smoking gun."],
    branch: Annotated[str | None, "A branch, a job id, or \".\" for the workspace podium runs "
                                  "in (in a work: default, its branch)."] = None,
    agent: Annotated[str | None, "The tester's agent CLI (default: [roles.tester] agent in "
                                 "podium.toml, else claude)."] = None,
    fresh: Annotated[bool, "Start a new session (with a summary of the earlier turns)."]
    = False,
    queue: Annotated[bool, "Queue behind a job active in the worktree (false: refuse)."]
    = True,
    model: Annotated[str | None, "The model for this turn only (default: [roles.tester] model in "
                                 "podium.toml, else the agent CLI's own)."] = None,
    effort: Annotated[str | None, "The reasoning effort for this turn only: low, medium, high, "
                                  "xhigh or max (default: [roles.tester] effort)."] = None,
) -> JobInfo:
    """A turn of the branch's tester session (claude by default): later turns resume the same session.

    A background job: wait for it, then read its summary (the tests' verdict comes from the runner's output)."""
    return turn(ctx, message, branch=branch, agent=agent, fresh=fresh, queue=queue, model=model, effort=effort)


def turn(ctx: Context, message: str, *, branch: str | None = None, agent: str | None = None, fresh: bool = False,
         queue: bool = True, stall_after: float | None = None, model: str | None = None,
         effort: str | None = None) -> JobInfo:
    """``test``, with the CLI's stall time."""
    from podium import tester as tester_mod

    work = ctx.work()
    target = branch or (work.branch if work else None)
    if target is None:
        raise UsageError("name the branch to test")
    if stall_after is None and work is not None:
        stall_after = work.stall_after
    return JobInfo.launched(tester_mod.turn(ctx, None if target == "." else target, message, agent=agent,
                                            fresh=fresh, queue=queue, stall_after=stall_after, model=model,
                                            effort=effort))


@operation()
def screenshot(
    ctx: Context,
    url: Annotated[str, "http://, https:// or file:// address of the page."],
    label: Annotated[str, "What it shows; part of the file name."] = "page",
    steps: Annotated[list[str] | None, "Before the shot, in order: click:SELECTOR, "
                                       "type:SELECTOR=TEXT, press:KEY, wait:SELECTOR, "
                                       "wait:MILLISECONDS, goto:URL."] = None,
    full_page: Annotated[bool, "The whole page, not only the viewport."] = False,
    branch: Annotated[str | None, "The branch it is for (default: the branch checked out "
                                  "here; in a work, its branch)."] = None,
    timeout: Annotated[float | None, "Seconds for each step (default: 30)."] = None,
) -> browser.Shot:
    """Screenshot a page in headless Chromium, saved as <branch>-<n>-<label>.png in the screenshots folder and
    recorded against the branch (the gate shows it; ship attaches it to the pull request).

    Selectors are Playwright's: CSS or text=...; it returns the file, the HTTP status, the title and the page's
    console errors."""
    from podium import browser

    actions = [browser.Action.parse(s) for s in steps or []]
    work = ctx.work()
    return browser.take(ctx.repo, ctx.store, ctx.config, url, label=label, actions=actions,
                        branch=branch or (work.branch if work else None), full_page=full_page,
                        timeout=browser.DEFAULT_TIMEOUT if timeout is None else timeout)


def branch_screenshots(ctx: Context, branch: str) -> list[str]:
    """The branch's screenshots still on disk, in the order taken (what the gate and the PR show)."""
    from podium import browser

    return browser.for_branch(ctx.repo, ctx.store, ctx.config, branch)
