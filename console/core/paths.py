"""Where the console keeps its files."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The console's data folder (store, presets, sessions); ``VRCLINIC_HOME`` overrides."""
    if "VRCLINIC_HOME" in os.environ:
        return Path(os.environ["VRCLINIC_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "vrclinic"
