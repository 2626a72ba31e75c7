"""Fixtures of the physiology tests (defined in lsl_helpers, shared with the panel and
simulator tests)."""

from tests.console.physio.lsl_helpers import pushers, unique  # noqa: F401
