"""The conformance checks, and running them: each check gets a fresh client process and a
fresh :class:`~protocol.conformance.harness.Harness` (a fresh console key pair, client key pair
and keys file among it), judges the answers against SPEC.md, and ends with the client killed.
SPEC.md section 11.10 lists every MUST with the check that holds a client to it.

The checks themselves live by concern in :mod:`~protocol.conformance.checks_link`,
:mod:`~protocol.conformance.checks_scene` and :mod:`~protocol.conformance.checks_frames`;
what they share is in :mod:`~protocol.conformance.registry`. This module puts them in the
order the suite runs and prints them (:data:`ORDER`) and runs them.

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# Importing the check modules is what registers their checks (the ``_check`` decorator).
from protocol.conformance import checks_frames, checks_link, checks_scene  # noqa: F401
from protocol.conformance.harness import CheckResult, CheckTimeout, Fail, Harness, Options
from protocol.conformance.registry import REGISTERED, CheckSpec
from protocol.timing import now

__all__ = ["CHECKS", "ORDER", "CheckSpec", "check_names", "run", "run_check"]

# The order the suite runs and prints the checks in. Spelled out here rather than left to the
# order of the imports above, because the check modules interleave: the link first (a client
# that cannot connect fails everything after it), then the scene, then the harsher checks.
ORDER = (
    "handshake",
    "heartbeat",
    "version_welcome",
    "version_bye",
    "refusals",
    "bye",
    "parameters",
    "make_safe",
    "watchdog",
    "lost",
    "malformed",
    "newer_minor",
    "mirror",
    "prompt",
    "reconnection",
    "pairing",
)


def _in_order() -> list[CheckSpec]:
    """The registered checks in :data:`ORDER`; refuses (at import) a check missing from either."""
    unordered = [n for n in REGISTERED if n not in ORDER]
    unknown = [n for n in ORDER if n not in REGISTERED]
    if unordered or unknown or len(set(ORDER)) != len(ORDER):
        raise RuntimeError(
            f"protocol.conformance.checks.ORDER is out of step with the registered checks: add "
            f"{unordered or 'nothing'}, remove {unknown or 'nothing'}, and name each check once"
        )
    return [REGISTERED[n] for n in ORDER]


CHECKS: list[CheckSpec] = _in_order()


# ---------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def run_check(spec: CheckSpec, options: Options) -> CheckResult:
    """Run one check against a fresh client process; the process is killed whatever happens."""
    started = now()
    h = Harness(options, started + options.timeout_s, spec.setup)
    passed, reason = False, ""
    try:
        h.start_client()
        reason = spec.run(h)
        passed = True
    except Fail as exc:
        reason = exc.reason
    except CheckTimeout:
        reason = (
            f"the check did not finish within {options.timeout_s:g} s (--timeout): the client stopped answering "
            "or is far too slow"
        )
    finally:
        h.stop_client()
        output = h.client_output()
        h.close()
    if h.invalid:
        first = h.invalid[0]
        text = f"the client sent {len(h.invalid)} frame(s) that do not decode, e.g. {first.problem}"
        passed, reason = False, text if passed else f"{reason}; also {text}"
    if h.violations:
        more = f" (and {len(h.violations) - 1} more)" if len(h.violations) > 1 else ""
        text = h.violations[0] + more
        passed, reason = False, text if passed else f"{reason}; also {text}"
    return CheckResult(spec.name, passed, reason, round(now() - started, 2), h.evidence, output)


def run(
    options: Options, only: Sequence[str] | None = None, progress: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run the checks (all, or those named in ``only``) one after the other. Raises ValueError
    for an unknown check name. ``progress`` is called after each check (the calling thread)."""
    names = check_names()
    unknown = [n for n in only or () if n not in names]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; the checks are {', '.join(names)}")
    results = []
    for spec in CHECKS:
        if only and spec.name not in only:
            continue
        result = run_check(spec, options)
        results.append(result)
        if progress is not None:
            progress(result)
    return results
