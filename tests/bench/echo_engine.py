"""A minimal engine on our client library: answers set_parameter with parameter_applied at
once. The benchmark's counterpart of the bare pyzmq echo, so that the two differ only in
the stack (codec, link, client), not in what the application does with a message."""

from __future__ import annotations

import signal
import sys

from protocol import messages
from protocol.timing import now
from unity_bridge.client import EngineClient, Received


def answer_at_once(client: EngineClient, event: object) -> None:
    """What an engine that applies every value instantly does with a set_parameter."""
    if isinstance(event, Received) and isinstance(event.message, messages.SetParameter):
        m = event.message
        client.send(
            messages.ParameterApplied(
                name=m.name, value=m.value, target=m.value, ramping=False, ref_id=event.msg_id, applied_at=now()
            )
        )


def main(endpoint: str, name: str) -> None:
    client = EngineClient(endpoint, name, engine="bench echo engine", app_version="1", scenes=[])
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while not stopping:
        for event in client.poll(0.05):
            answer_at_once(client, event)
    client.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
