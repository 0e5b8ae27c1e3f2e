"""podium: coding-agent jobs that run in the background and can be trusted."""

__version__ = "0.1.0"
