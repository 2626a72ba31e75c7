"""Finding streams: the directory with real outlets, and known hosts for networks where
multicast discovery does not get through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest

from console.physio.streams import (
    StreamDirectory,
    check_host,
    info_from_xml,
    known_peers,
    lsl_config_path,
    with_known_peers,
)
from tests.conftest import wait_until


@pytest.fixture
def directory(tmp_path):
    # Known hosts are saved next to the test's copy of the LSL settings, never in $HOME.
    config = tmp_path / "lsl_api.cfg"
    config.write_text(Path(os.environ["LSLAPICFG"]).read_text())
    found = StreamDirectory(poll_interval_s=0.1, forget_after_s=1.5, config_path=config).start()
    yield found
    found.stop()


def named(directory, name):
    return next((s for s in directory.snapshot() if s.name == name), None)


def test_a_new_stream_appears_with_its_description_and_disappears_when_closed(unique, pushers, directory):
    changes = []
    directory.subscribe(changes.append)
    pusher = pushers(unique("EEG"), stream_type="EEG", rate=256.0, channels=3, labels=("Fz", "Cz", "Pz"), unit="µV")
    wait_until(lambda: named(directory, pusher.name) is not None, 5, "the stream listed")
    stream = named(directory, pusher.name)
    assert (stream.type, stream.channel_count, stream.nominal_rate) == ("EEG", 3, 256.0)
    assert stream.channel_labels == ("Fz", "Cz", "Pz") and stream.channel_units == ("µV",) * 3
    assert stream.source_id == pusher.name and stream.hostname and stream.uid and stream.numeric
    assert stream.label(1) == "Cz" and stream.unit(2) == "µV"
    assert any(stream in c.added for c in changes)
    assert "found" in directory.status
    pusher.close()
    wait_until(lambda: named(directory, pusher.name) is None, 6, "the stream gone")
    assert any(any(s.uid == stream.uid for s in c.removed) for c in changes)


def test_known_peers_are_merged_into_the_config_keeping_everything_else():
    text = "# clinic settings\n[ports]\nIPv6 = disable\n\n[lab]\nSessionID = ward3\nKnownPeers = {10.0.0.5}\n"
    assert known_peers(text) == ["10.0.0.5"]
    merged = with_known_peers(text, ["10.0.0.5", "eeg-laptop"])
    assert known_peers(merged) == ["10.0.0.5", "eeg-laptop"]
    assert "# clinic settings" in merged and "SessionID = ward3" in merged and "IPv6 = disable" in merged
    assert known_peers(with_known_peers("[ports]\nIPv6 = disable\n", ["10.1.1.1"])) == ["10.1.1.1"]
    assert known_peers(with_known_peers("[lab]\nSessionID = x\n", ["h"])) == ["h"]
    assert known_peers("") == []


def test_hosts_are_checked_before_anything_is_saved():
    assert check_host(" 192.168.1.20 ") == "192.168.1.20"
    assert check_host("eeg-laptop.clinic.local") == "eeg-laptop.clinic.local"
    with pytest.raises(ValueError, match="neither an IP address"):
        check_host("http://10.0.0.5:16572")


def test_the_config_liblsl_reads_is_the_one_written(monkeypatch, tmp_path):
    monkeypatch.setenv("LSLAPICFG", str(tmp_path / "x.cfg"))
    assert lsl_config_path() == tmp_path / "x.cfg"
    monkeypatch.delenv("LSLAPICFG")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert lsl_config_path() == tmp_path / "home" / "lsl_api" / "lsl_api.cfg"


def test_adding_a_known_host_saves_it_and_searches_it_now(unique, pushers, directory):
    pusher = pushers(unique("ECG"), rate=100.0)
    result = directory.add_known_host("127.0.0.1")
    assert result.saved_to == directory.config_path
    assert "127.0.0.1" in known_peers(directory.config_path.read_text())
    assert "ResolveScope = machine" in directory.config_path.read_text()  # the rest kept
    assert "searches that computer directly" in result.message and "LabRecorder" in result.message
    # The helper process finds this computer's streams by unicast; the console already sees
    # them by multicast, and says so.
    wait_until(lambda: "also found by multicast" in directory.known_hosts()["127.0.0.1"], 15, "the host searched")
    assert named(directory, pusher.name).found_via == "multicast"
    with pytest.raises(ValueError):
        directory.add_known_host("not a host!")


def test_a_stream_found_by_the_known_host_helper_can_be_opened(unique, pushers, tmp_path):
    """The helper's path end to end: a separate liblsl with KnownPeers resolves the stream,
    hands over its description as XML, and an inlet in this process opens it from that."""
    pusher = pushers(unique("RESP"), stream_type="RESP", rate=50.0, labels=("RESP",), unit="a.u.")
    config = tmp_path / "probe.cfg"
    config.write_text(with_known_peers(Path(os.environ["LSLAPICFG"]).read_text(), ["127.0.0.1"]))
    helper = subprocess.Popen(
        [sys.executable, "-m", "console.physio.peer_probe", "--wait", "0.5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LSLAPICFG": str(config)},
        text=True,
    )
    try:
        xml = None
        deadline = time.monotonic() + 15
        while xml is None and time.monotonic() < deadline:
            report = json.loads(helper.stdout.readline())
            xml = next((x for x in report["streams"] if f"<name>{pusher.name}</name>" in x), None)
        assert xml is not None, "the helper did not report the stream"
    finally:
        helper.stdin.close()
        helper.wait(5)
        helper.stdout.close()
    assert helper.returncode == 0  # it exits when the console goes
    info = info_from_xml(xml, "127.0.0.1")
    assert info.name() == pusher.name and info.get_channel_labels() == ["RESP"]
    inlet = pylsl.StreamInlet(info)
    inlet.open_stream(timeout=5)
    samples, ts = [], []
    deadline = time.monotonic() + 5
    while len(ts) < 10 and time.monotonic() < deadline:
        chunk, stamps = inlet.pull_chunk(timeout=0.2)
        samples += chunk
        ts += stamps
    assert len(ts) >= 10 and np.all(np.diff(ts) > 0)
    inlet.close_stream()
