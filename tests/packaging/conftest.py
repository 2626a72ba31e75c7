"""packaging/lock.py and soup.py are scripts (the folder cannot be a package: PyPI's
`packaging` has that name), so the tests here import them from the folder itself."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))
