"""Whether a process still exists: how leftovers of a writer that died (staging folders, work files) are told
apart from those of one still running."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while a process with this id exists (a reused id keeps a leftover a while longer: harmless)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
