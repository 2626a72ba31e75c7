"""A console that is still starting binds its port at once but answers headsets only when it
says so (``accepting=False`` until ``accept()``): a headset answered earlier would wait for
heartbeats from a window that is still building its plots."""

from __future__ import annotations

from protocol.link import ConsoleLink
from protocol.timing import now
from tests.conftest import pair_engine, wait_until
from unity_bridge.client import Connected, EngineClient, EngineState


def poll_for(client: EngineClient, seconds: float) -> list:
    seen: list = []
    deadline = now() + seconds
    while now() < deadline and not any(isinstance(e, Connected) for e in seen):
        seen += client.poll(0.05)
    return seen


def test_a_starting_console_answers_a_headset_once_it_accepts(link_config):
    link = ConsoleLink(link_config, accepting=False)
    keys = pair_engine(link, "early-headset")
    client = EngineClient(link.endpoint, "early-headset", engine="t", app_version="1", scenes=[], keys=keys)
    try:
        # The headset says hello (again and again); nobody answers yet.
        assert not any(isinstance(e, Connected) for e in poll_for(client, 1.0))
        assert client.state == EngineState.CONNECTING and link.headsets() == {}
        link.accept()
        assert any(isinstance(e, Connected) for e in poll_for(client, 5.0))
        assert client.state == EngineState.CONNECTED
        # The link's table is updated by its thread right after it sends the welcome.
        wait_until(lambda: "early-headset" in link.headsets(), what="the console to list the headset")
    finally:
        client.close()
        link.close()


def test_a_link_accepts_from_the_start_by_default(link):
    keys = pair_engine(link, "headset")
    client = EngineClient(link.endpoint, "headset", engine="t", app_version="1", scenes=[], keys=keys)
    try:
        assert any(isinstance(e, Connected) for e in poll_for(client, 5.0))
        link.accept()  # nothing changes
        assert client.state == EngineState.CONNECTED
    finally:
        client.close()
