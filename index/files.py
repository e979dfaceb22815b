"""File-system helpers shared by the archive's parts."""

from __future__ import annotations

import os
from pathlib import Path


def directory_bytes(directory: Path) -> int:
    """Bytes of the files under `directory`; files that vanish while counted (an engine's
    temporary files) count as nothing."""
    total = 0
    for root, _, names in os.walk(directory):
        for name in names:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total
