"""A deliberately broken engine client, to prove that the conformance suite can fail.

It is the simulated headset with one fault switched on, chosen by the first argument:

- ``ignore_make_safe``: drops every make_safe from the console;
- ``silent_on_bad_input``: never answers a frame it cannot decode (no error replies);
- ``no_watchdog``: does not make the scene safe when the console's heartbeats stop;
- ``accept_out_of_range``: applies an out-of-range set_parameter instead of refusing it;
- ``ignore_version``: accepts a welcome of any major version and carries on.

Run as ``python tests/protocol/broken_client.py FAULT``; it reads VRCLINIC_CONSOLE and
VRCLINIC_HEADSET like every engine client. The engine loop runs in the main thread.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from protocol import codec, messages
from unity_bridge import client as engine_client
from unity_bridge.sim import headset

FAULTS = ("ignore_make_safe", "silent_on_bad_input", "no_watchdog", "accept_out_of_range", "ignore_version")
# What the engine's own errors use; the ones the decoder produces are all the others.
ENGINE_CODES = {"out_of_range", "busy", "unknown_parameter", "unknown_scene"}


class BrokenClient(engine_client.EngineClient):
    """The reference client with the link-level faults (the engine's thread, as its base)."""

    fault = ""

    def send(self, message: messages.Message) -> int:
        decode_error = isinstance(message, messages.Error) and str(message.code) not in ENGINE_CODES
        if self.fault == "silent_on_bad_input" and decode_error:
            return -1  # the fault: a decode error is swallowed instead of answered
        return super().send(message)

    def _on_welcome(self, welcome: messages.Welcome, t: float, events: list) -> None:
        if self.fault == "ignore_version":
            welcome = dataclasses.replace(welcome, protocol_major=codec.PROTO.major)  # the fault: no version check
        super()._on_welcome(welcome, t, events)


class BrokenHeadset(headset.SimulatedHeadset):
    """The simulated headset with the engine-level faults (its engine loop's thread)."""

    fault = ""

    def _on_event(self, event: object) -> None:
        if self.fault == "no_watchdog" and isinstance(event, engine_client.ConsoleGone):
            return  # the fault: the scene keeps running without a console
        super()._on_event(event)

    def _on_message(self, msg_id: int, msg: messages.Message) -> None:
        if self.fault == "ignore_make_safe" and isinstance(msg, messages.MakeSafe):
            return  # the fault
        super()._on_message(msg_id, msg)

    def _clamp_check(self, scene_id: str, name: str, value: float) -> float:
        if self.fault == "accept_out_of_range":
            return value  # the fault: no range check
        return super()._clamp_check(scene_id, name, value)


def main() -> int:
    fault = sys.argv[1] if len(sys.argv) > 1 else ""
    if fault not in FAULTS:
        print(f"usage: broken_client.py {{{','.join(FAULTS)}}}", file=sys.stderr)
        return 2
    BrokenClient.fault = BrokenHeadset.fault = fault
    headset.EngineClient = BrokenClient  # SimulatedHeadset builds its client by this name
    sim = BrokenHeadset(
        os.environ["VRCLINIC_CONSOLE"],
        os.environ.get("VRCLINIC_HEADSET", "broken-headset"),
        log=lambda line: print(f"[broken:{fault}] {line}", flush=True),
        publish_patient=False,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.request_stop())
    sim.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
