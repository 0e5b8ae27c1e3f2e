"""The index of podium's commands: the module that defines each, and what ``podium --help`` says of it."""

# The module of podium.cli that defines each command: a command loads its own module only (``podium --help``
# loads them all, for their lines).
COMMANDS = {
    **dict.fromkeys(("delegate", "status", "logs", "wait"), "jobs"),
    **dict.fromkeys(("cancel", "resume", "rerun"), "control"),
    **dict.fromkeys(("test", "screenshot"), "tester"),
    **dict.fromkeys(("ticket", "branch-name"), "tickets"),
    **dict.fromkeys(("commit", "ship", "push", "pr", "gates", "approve", "reject"), "gates"),
    **dict.fromkeys(("work", "chat", "mcp"), "work"),
    **dict.fromkeys(("workspaces", "sync", "clean"), "workspaces"),
    **dict.fromkeys(("init", "doctor", "roles", "plugin", "demo", "scripted-model"), "setup"),
    "distill": "distill",
    "dashboard": "dashboard",
    "worker": "engine",
}

# What ``podium --help`` lists for each command: its help's first sentence, kept here so the list does not
# load every command's module (tests/test_layers.py checks each against the command's own help).
SUMMARIES = {
    "approve": 'Approve a gate and carry out exactly what it holds.',
    "branch-name": "The branch name a teammate would choose, learned from the repository's own branches.",
    "cancel": "Stop a job's agent (its whole process group); its worktree is kept.",
    "chat": (
        'Talk to the orchestrator: claude, codex, gemini, qwen, opencode or kilo in this repository with '
        "ORCHESTRATOR.md and podium's tools."
    ),
    "clean": 'Remove finished workspaces; any with uncommitted or unpushed work is kept, and said why.',
    "commit": "Ask for the workspace's single commit on its base (and its push with a lease).",
    "dashboard": (
        "Watch every job live and decide gates in a browser: jobs, each job's events, diff and screenshots, "
        'workspaces, works, and the gates with Approve and Reject.'
    ),
    "delegate": (
        'Hand a task to a worker agent in a new worktree on a new branch, from a freshly fetched base; '
        'returns at once with the job id.'
    ),
    "demo": 'podium work on a sample ticket in a throw-away repo, to the gate (the scripted model when no API key).',
    "distill": (
        "Turn your own agent transcripts into role files: measured facts first, then an agent's distillation,"
        ' shown as a diff against the current files (--apply writes them).'
    ),
    "doctor": (
        'What podium found here and what is missing: origin, base branch, branch names, tracker, forge, agent'
        " CLIs, Chromium, git's identity, test commands."
    ),
    "gates": 'The gates waiting for the human (all: decided ones too), each as the human sees it.',
    "init": "Find this repository's conventions and the tools here, write podium.toml and the role files.",
    "logs": (
        "A job's summary (answer, files, commits, failed commands, tests verdict) — or, with summary false, "
        'its last events.'
    ),
    "mcp": "Serve podium's tools over MCP (stdio) for agent CLIs: claude mcp add podium -- podium mcp.",
    "plugin": (
        "podium's Claude Code plugin (its MCP server, /podium:delegate, status, work, test and ship, the "
        'orchestrator agent): where it is and the commands that install it.'
    ),
    "pr": "The workspace's pull request and the CI checks on it, with one verdict: failed, pending, passed or none.",
    "push": (
        "Ask to push the workspace's commit to its own branch on origin, --force-with-lease on what podium "
        'last pushed; never to a base branch.'
    ),
    "reject": 'Reject a gate, saying why (the workers read it); nothing is committed or pushed.',
    "rerun": (
        "Run an ended job's command again, as a new job in the same worktree (queued while another job is "
        'active there): for a job that failed or was lost before its agent had a session, when there is '
        'nothing to resume.'
    ),
    "resume": (
        "Continue a job's agent session with a new message, as a new job in the same worktree (queued while "
        'another job is active there).'
    ),
    "roles": (
        "Write the role files (ORCHESTRATOR.md, TESTER.md) from podium's tools and this repository's "
        "conventions, keeping your edits outside podium's markers."
    ),
    "screenshot": (
        'Screenshot a page in headless Chromium, saved as <branch>-<n>-<label>.png in the screenshots folder '
        'and recorded against the branch (the gate shows it; ship attaches it to the pull request).'
    ),
    "scripted-model": 'The scripted model server: run the real agent CLIs with no API key and no network.',
    "ship": (
        'Ask for commit + push (with lease) + the pull request opened or updated, ticket linked, tests and '
        'screenshots in its description.'
    ),
    "status": 'Every active and recent job (or the ones named): state, agent, role, branch, quiet time, work, tests.',
    "sync": (
        "Bring a workspace onto its base as origin has it now, the task's changes on top, uncommitted; where "
        "they conflict with what the base gained, the conflict goes to the branch's worker (its session "
        'resumed, told what moved and which files conflict).'
    ),
    "test": "A turn of the branch's tester session (claude by default): later turns resume the same session.",
    "ticket": "Tickets from the repository's tracker ([tracker] in podium.toml, or a tickets/ folder).",
    "wait": 'Block until the jobs end or stall, at most timeout seconds; their summaries.',
    "work": (
        "The whole loop for a ticket, to the human's gate: an orchestrator agent (headless, with "
        "ORCHESTRATOR.md and podium's tools) takes it through ticket, workspace, workers, tester and ship, in"
        ' the background.'
    ),
    "worker": 'Run podium jobs delegated with [engine] kind = "temporal", from anyone\'s checkout, on this machine.',
    "workspaces": 'Every workspace podium made here: branch, base, ahead/behind, dirty, pushed, last job.',
}
