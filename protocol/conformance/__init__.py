"""Conformance suite: play the console against any engine client and check what it does.

``vrclinic conformance --client "CMD ..."`` runs every check against a fresh copy of the
client and judges the answers against SPEC.md. Where a change goes:

- :mod:`~protocol.conformance.harness` — the console side: the client's keys file, binding the
  CURVE ROUTER with its ZAP handler (and the pairing port), starting and killing the client,
  sending (right and wrong) frames, beating, waiting with deadlines;
- :mod:`~protocol.conformance.checks` — the order of the named checks and running them
  (SPEC.md section 11.10 lists them, and every MUST with the check that holds a client to it);
- the checks by concern: :mod:`~protocol.conformance.checks_link` (handshake, heartbeats,
  versions, bye, watchdog, reconnecting, pairing), :mod:`~protocol.conformance.checks_scene`
  (parameters, make_safe, mirror, prompts), :mod:`~protocol.conformance.checks_frames`
  (malformed frames, a newer minor); what they share in :mod:`~protocol.conformance.registry`;
- :mod:`~protocol.conformance.cli` — ``vrclinic conformance``: the table and the JSON report.

No Qt and no threads of its own: this runs on CI machines and headset build servers.
"""

from __future__ import annotations

from protocol.conformance.checks import CHECKS, CheckSpec, check_names, run, run_check
from protocol.conformance.cli import format_row, main, report_json
from protocol.conformance.harness import DEFAULT_NAME, CheckResult, Fail, Options

__all__ = [
    "CHECKS",
    "DEFAULT_NAME",
    "CheckResult",
    "CheckSpec",
    "Fail",
    "Options",
    "check_names",
    "format_row",
    "main",
    "report_json",
    "run",
    "run_check",
]
