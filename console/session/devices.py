"""The headsets paired with this console, and the console's own key pair. No Qt.

A headset is its CURVE public key (protocol/security.py); the name is what the technician
gave it when pairing. The list lives in ``devices.json`` in the data folder (readable by
this user only); the console's secret key lives in the secret store (the OS keyring, or a
0600 file), never next to the list.

Threads: :meth:`DeviceList.load` and :meth:`DeviceList.save` read and write the disk; the
console app calls them at start (before the window) and from a short-lived thread after a
change, never from the GUI thread during a session. The in-memory changes (:meth:`add`,
:meth:`rename`, :meth:`revoke`) are for the GUI thread; a lock makes a save see one whole
state.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from console.core.secrets import SecretStore
from protocol import security
from protocol.security import KeyPair, KeyProblem

CONSOLE_SECRET = "link-curve-secret"  # the name of the console's secret key in the store


class DeviceListError(RuntimeError):
    """The device list cannot be read or written; the text names the file and what to do."""


@dataclass(frozen=True)
class Device:
    public_key: str
    name: str
    paired_at: str  # local time, ISO 8601, for the technician
    revoked_at: str = ""

    @property
    def revoked(self) -> bool:
        return bool(self.revoked_at)

    @property
    def fingerprint(self) -> str:
        return security.fingerprint(self.public_key)


class DeviceList:
    """Paired (and revoked) headsets, by public key."""

    def __init__(self, path: Path, devices: list[Device] | None = None):
        self.path = path
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {d.public_key: d for d in devices or []}

    # -- disk -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> DeviceList:
        """Read the list (an empty one when the file does not exist). Any thread but the
        GUI thread in a session. Raises DeviceListError naming the file and the problem."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise DeviceListError(f"cannot read the device list {path}: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DeviceListError(
                f"the device list {path} is damaged ({exc.msg}, line {exc.lineno}); move it aside and pair the "
                "headsets again"
            ) from None
        rows = data.get("devices") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise DeviceListError(f"the device list {path} has no 'devices' list; move it aside and pair again")
        devices = []
        for number, row in enumerate(rows, 1):
            devices.append(_device_from(row, path, number))
        return cls(path, devices)

    def save(self) -> None:
        """Write the list atomically, readable by this user only. Not the GUI thread."""
        with self._lock:
            data = {"devices": [asdict(d) for d in self._devices.values()]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
                out.write("\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise DeviceListError(f"cannot save the device list {self.path}: {exc.strerror}") from None

    # -- the list (GUI thread) -------------------------------------------------------------
    def all(self) -> list[Device]:
        with self._lock:
            return sorted(self._devices.values(), key=lambda d: (d.revoked, d.name.lower()))

    def paired(self) -> dict[str, str]:
        """Public key -> name of every headset that may connect (what the link admits)."""
        with self._lock:
            return {d.public_key: d.name for d in self._devices.values() if not d.revoked}

    def get(self, public_key: str) -> Device | None:
        with self._lock:
            return self._devices.get(public_key)

    def add(self, public_key: str, name: str) -> Device:
        """Pair a headset (again, if it was revoked). The name is made unique among the
        paired ones, since the console addresses headsets by name."""
        security.check_key(public_key, "headset's public key")
        with self._lock:
            device = Device(public_key, self._unique(name, public_key), _now())
            self._devices[public_key] = device
            return device

    def rename(self, public_key: str, name: str) -> Device:
        with self._lock:
            device = replace(self._devices[public_key], name=self._unique(name, public_key))
            self._devices[public_key] = device
            return device

    def revoke(self, public_key: str) -> Device:
        with self._lock:
            device = replace(self._devices[public_key], revoked_at=_now())
            self._devices[public_key] = device
            return device

    def _unique(self, name: str, public_key: str) -> str:
        base = " ".join(name.split())[:56] or "headset"
        taken = {d.name for d in self._devices.values() if d.public_key != public_key and not d.revoked}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base} {n}", n + 1
        return candidate


def _device_from(row: object, path: Path, number: int) -> Device:
    where = f"the device list {path}, entry {number}"
    if not isinstance(row, dict):
        raise DeviceListError(f"{where} is not an object; move the file aside and pair the headsets again")
    try:
        key = security.check_key(row.get("public_key"), "public_key")
    except KeyProblem as exc:
        raise DeviceListError(f"{where}: {exc}") from None
    name, paired_at, revoked_at = row.get("name"), row.get("paired_at", ""), row.get("revoked_at", "")
    for field_name, value in (("name", name), ("paired_at", paired_at), ("revoked_at", revoked_at)):
        if not isinstance(value, str):
            raise DeviceListError(f"{where}: '{field_name}' must be text, not {type(value).__name__}")
    return Device(key, name or "headset", paired_at, revoked_at)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


def console_keys(store: SecretStore) -> KeyPair:
    """This console's CURVE key pair, made on first use and kept in the secret store (the
    public key follows from the secret). Not the GUI thread (a keyring may take a moment)."""
    secret = store.get_or_create(CONSOLE_SECRET, lambda: KeyPair.generate().secret.encode("ascii"))
    try:
        return KeyPair.from_secret(secret.decode("ascii"))
    except (UnicodeDecodeError, KeyProblem) as exc:
        raise DeviceListError(
            f"the console's secret key in {store.where} is damaged ({exc}); delete it to make a new one "
            "(every headset must then be paired again)"
        ) from None


def pair_local_headset(devices: DeviceList, console: KeyPair, name: str, keys_path: Path) -> Device:
    """Pair a headset that runs on this computer (the demo's simulated headset, a lab
    bench) without the pairing dialog: its keys file is written here, with the console's
    key pinned, and it is added to the list, replacing (revoking) a headset of the same
    name. Not the GUI thread."""
    own = security.read_keys_file(keys_path).own if keys_path.exists() else KeyPair.generate()
    security.write_keys_file(keys_path, security.EngineKeys(own, console.public))
    for other in devices.all():  # pairing a local headset under a name replaces the one that had it
        if other.name == name and other.public_key != own.public and not other.revoked:
            devices.revoke(other.public_key)
    device = devices.add(own.public, name)
    devices.save()
    return device


def link_identity(data: Path) -> tuple[KeyPair, DeviceList]:
    """What a console (the window, the text monitor) needs to open its link: its key pair
    from the secret store and the paired headsets from ``data/devices.json``. At start,
    before any window. Raises DeviceListError or SecretError in words."""
    from console.core.secrets import default_store

    return console_keys(default_store()), DeviceList.load(data / "devices.json")
