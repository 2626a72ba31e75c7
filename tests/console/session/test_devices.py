"""The paired-headset list: kept readable by this user only, hostile files refused in words."""

from __future__ import annotations

import json

import pytest

from console.core.secrets import SecretStore
from console.session.devices import DeviceList, DeviceListError, console_keys, pair_local_headset
from protocol import security
from protocol.security import KeyPair

A_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # a valid CURVE public key (fixed: test ids must not vary)


def test_pairing_saves_a_private_list_and_names_stay_unique(tmp_path):
    devices = DeviceList(tmp_path / "devices.json")
    first = devices.add(KeyPair.generate().public, "Room 2")
    second = devices.add(KeyPair.generate().public, "Room 2")
    assert (first.name, second.name) == ("Room 2", "Room 2 2")
    devices.revoke(first.public_key)
    devices.save()
    assert (tmp_path / "devices.json").stat().st_mode & 0o077 == 0
    again = DeviceList.load(tmp_path / "devices.json")
    assert again.paired() == {second.public_key: "Room 2 2"}
    assert again.get(first.public_key).revoked


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "damaged"),
        ('{"devices": 5}', "no 'devices' list"),
        ('{"devices": [{"public_key": "short", "name": "x"}]}', "entry 1: the public_key must be 40 characters"),
        (json.dumps({"devices": [{"public_key": A_KEY, "name": 7}]}), "'name' must be text"),
        ('{"devices": ["a string"]}', "entry 1 is not an object"),
    ],
    ids=["not-json", "no-list", "short-key", "number-name", "string-entry"],
)
def test_a_hostile_device_list_is_refused_in_words(tmp_path, content, words):
    path = tmp_path / "devices.json"
    path.write_text(content)
    with pytest.raises(DeviceListError, match=r"devices\.json") as err:
        DeviceList.load(path)
    assert words in str(err.value)


def test_the_console_key_is_kept_in_the_secret_store_and_a_local_headset_pins_it(tmp_path):
    store = SecretStore(folder=tmp_path / "secrets", use_keyring=False)
    keys = console_keys(store)
    assert console_keys(store) == keys  # the same pair at every start
    devices = DeviceList(tmp_path / "devices.json")
    device = pair_local_headset(devices, keys, "bench", tmp_path / "bench.keys.json")
    engine = security.read_keys_file(tmp_path / "bench.keys.json")
    assert engine.console_public == keys.public and engine.own.public == device.public_key
    assert json.loads((tmp_path / "devices.json").read_text())["devices"][0]["name"] == "bench"
    assert keys.secret not in (tmp_path / "devices.json").read_text()


def test_a_keys_file_others_can_read_is_refused_with_the_command_that_fixes_it(tmp_path):
    path = tmp_path / "k.json"
    security.write_keys_file(path, security.EngineKeys(KeyPair.generate()))
    path.chmod(0o644)
    with pytest.raises(security.KeyProblem, match=r"chmod 600"):
        security.read_keys_file(path)
