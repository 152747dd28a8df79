"""How long this program has been running, for the start-up line of ``xxgk run`` / ``demo``.

The process's age (``/proc/self/stat``) is not the program's: a shell running ``pip install … &&
xxgk demo`` may ``exec`` the last command in its own process (no fork), which then started with the
shell — the start-up line said "解释器与命令 117.7 s" for a pip install.  This module is imported first
by ``flows.cli``; the process age at that moment counts as interpreter start-up only when it is that
of an interpreter (at most :data:`INTERPRETER_LIMIT` seconds), otherwise the program's clock starts
at this import.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

#: An interpreter reaches ``flows.cli`` within a second or two; an older process was something else first.
INTERPRETER_LIMIT = 5.0


def process_age() -> float:
    """Seconds since this process started (from /proc; 0.0 where unavailable)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


_IMPORTED = time.perf_counter()
_AGE_AT_IMPORT = process_age()


def since_start() -> float:
    """Seconds since this program started: interpreter start-up (when plausible, see module docstring)
    plus the time since ``flows.cli`` was imported."""
    before = _AGE_AT_IMPORT if _AGE_AT_IMPORT <= INTERPRETER_LIMIT else 0.0
    return before + time.perf_counter() - _IMPORTED
