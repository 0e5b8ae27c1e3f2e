"""The scripted model: a loopback server that lets the real agent CLIs run with no API key.

``ScriptedModel(Scenario.load(path)).start()`` gives a server whose ``url`` is the
base URL for ``ANTHROPIC_BASE_URL`` (claude) or a codex model provider
(``<url>/v1``). See ``podium.scripted.scenario`` for the scenario format.
"""

from podium.scripted.scenario import Scenario, Script, Step
from podium.scripted.server import ScriptedModel

__all__ = ["Scenario", "Script", "ScriptedModel", "Step"]
