"""The scripted model: a loopback server that lets the real agent CLIs run with no API key.

``ScriptedModel(Scenario.load(path)).start()`` gives a server whose ``url`` is the
base URL for ``ANTHROPIC_BASE_URL`` (claude), ``GOOGLE_GEMINI_BASE_URL`` (gemini),
or an OpenAI-compatible provider at ``<url>/v1`` (codex, opencode, qwen, pi, copilot, droid).
See ``podium.scripted.scenario`` for the scenario format.
"""

from podium.scripted.scenario import Scenario, Script, Step
from podium.scripted.server import ScriptedModel

__all__ = ["Scenario", "Script", "ScriptedModel", "Step"]
