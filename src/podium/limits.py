"""Defaults and bounds shared by podium.toml's schema (``podium.settings``) and the settings' dataclass
(``podium.config``), which must not import the schema: it loads pydantic."""

DEFAULT_STALL_AFTER = 600.0  # seconds of silence and idleness before a job counts as stalled
# a worker's model may reason for a long while in one turn ("maybe hours, that's fine"): unless podium.toml sets
# a window for every role ([jobs] stall_after) or for workers ([roles.worker] stall_after), they get this one
WORKER_STALL_AFTER = 1800.0
MAX_STALL_AFTER = 30 * 24 * 3600.0  # a month of silence: beyond it, a stalled job would never be noticed
GATE_SMALL_LINES = 10
MAX_GATE_SMALL_LINES = 100_000
