"""The version written into recordings, exports and ``vrclinic --version``."""

from __future__ import annotations


def version() -> str:
    """The installed vrclinic version; "dev" when run from a checkout that was not installed."""
    try:
        from importlib.metadata import version as installed

        return installed("vrclinic")
    except Exception:  # importlib raises PackageNotFoundError, or worse on a broken install
        return "dev"
