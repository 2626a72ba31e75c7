"""Finding Lab Streaming Layer streams: the :class:`StreamDirectory`.

The directory runs its own *discovery thread*. That thread owns a
``pylsl.ContinuousResolver`` (multicast discovery, answered within about half a second,
streams forgotten ``forget_after_s`` seconds after they stop answering), asks each new
stream once for its full description (channel labels and units live in the XML ``desc``,
which resolvers do not carry), and keeps a list of :class:`StreamDescription`. Any thread
may read that list with :meth:`StreamDirectory.snapshot`; change callbacks run in the
discovery thread.

Known hosts, for clinic networks where multicast does not get through
---------------------------------------------------------------------
liblsl finds streams on other computers in two ways: multicast/broadcast queries, and
unicast queries to the computers listed in ``KnownPeers`` (section ``[lab]``) of its
configuration file ``lsl_api.cfg``. liblsl reads that file **once, when the process
first uses LSL** — from the file named by the ``LSLAPICFG`` environment variable, else
``./lsl_api.cfg``, else ``~/lsl_api/lsl_api.cfg``, else ``/etc/lsl_api/lsl_api.cfg`` (the
first one found wins; they are not merged). A host added while the console runs cannot be
given to this process's liblsl any more. :meth:`StreamDirectory.add_known_host` therefore
does two things:

1. it merges the host into ``KnownPeers`` of the configuration file liblsl reads (the one
   above that exists, else ``~/lsl_api/lsl_api.cfg``), so that from the next start the
   console — and every other LSL program on this computer, LabRecorder included — finds
   the host by itself;
2. for this session, it starts a small helper process (:mod:`console.physio.peer_probe`)
   whose liblsl starts with the same settings plus ``KnownPeers = {host}``. The helper
   reports the full description of each stream it finds; streams that the console's own
   multicast discovery does not see must be on that host, so the directory lists them with
   the host's address filled in, which is all an inlet needs to connect directly. No restart
   is needed.

Unicast discovery needs UDP and TCP ports 16571–16604 open between the computers (liblsl's
defaults); the status text says so when a known host answers nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pylsl
from pylsl.lib import lib as _liblsl

_liblsl.lsl_streaminfo_from_xml.restype = ctypes.c_void_p
_liblsl.lsl_streaminfo_from_xml.argtypes = [ctypes.c_char_p]

CHANNEL_FORMATS = {
    pylsl.cf_float32: "float32",
    pylsl.cf_double64: "double64",
    pylsl.cf_string: "string",
    pylsl.cf_int32: "int32",
    pylsl.cf_int16: "int16",
    pylsl.cf_int8: "int8",
    pylsl.cf_int64: "int64",
}

LSL_PORTS_TEXT = "UDP and TCP ports 16571–16604"


@dataclass(frozen=True)
class StreamDescription:
    """What the console knows about one LSL stream. Immutable; safe to share between threads.

    ``uid`` identifies this instance of the stream (it changes when the sending program
    restarts); ``source_id`` identifies the device, when the sender sets one.
    """

    uid: str
    name: str
    type: str
    channel_count: int
    nominal_rate: float  # Hz as announced; 0 for irregular streams (markers)
    channel_format: str  # "float32", "double64", "string", ...
    source_id: str
    hostname: str
    session_id: str = "default"
    channel_labels: tuple[str, ...] = ()
    channel_units: tuple[str, ...] = ()
    channel_types: tuple[str, ...] = ()
    found_via: str = "multicast"  # or "known host <name>"
    info: Any = field(default=None, compare=False, repr=False)  # the pylsl.StreamInfo an inlet is opened from

    @property
    def numeric(self) -> bool:
        """Whether the stream carries numbers (plottable), not strings (markers)."""
        return self.channel_format != "string"

    def label(self, channel: int) -> str:
        """The channel's label, or 'ch N' (1-based) when the sender did not name it."""
        if channel < len(self.channel_labels) and self.channel_labels[channel]:
            return self.channel_labels[channel]
        return f"ch {channel + 1}"

    def unit(self, channel: int) -> str:
        """The channel's unit as the sender declared it ('' when not declared)."""
        if channel < len(self.channel_units):
            return self.channel_units[channel]
        return ""


@dataclass(frozen=True)
class DirectoryChange:
    """Streams that appeared and disappeared since the previous change."""

    added: tuple[StreamDescription, ...]
    removed: tuple[StreamDescription, ...]


def _channel_field(info: pylsl.StreamInfo, name: str, count: int) -> tuple[str, ...]:
    getter = {"label": info.get_channel_labels, "unit": info.get_channel_units, "type": info.get_channel_types}[name]
    try:
        values = getter()
    except Exception:  # a malformed description: the stream is still usable without names
        return ()
    if not values:
        return ()
    values = [v or "" for v in values][:count]
    return tuple(values) if any(values) else ()


def describe(info: pylsl.StreamInfo, found_via: str = "multicast") -> StreamDescription:
    """A :class:`StreamDescription` from a pylsl StreamInfo (full or resolved).

    Channel labels/units/types are read from ``desc/channels/channel/{label,unit,type}``
    (the XDF convention) when present.
    """
    count = info.channel_count()
    return StreamDescription(
        uid=info.uid(),
        name=info.name(),
        type=info.type(),
        channel_count=count,
        nominal_rate=float(info.nominal_srate()),
        channel_format=CHANNEL_FORMATS.get(info.channel_format(), "undefined"),
        source_id=info.source_id(),
        hostname=info.hostname(),
        session_id=info.session_id(),
        channel_labels=_channel_field(info, "label", count),
        channel_units=_channel_field(info, "unit", count),
        channel_types=_channel_field(info, "type", count),
        found_via=found_via,
        info=info,
    )


def with_v4address(xml: str, v4address: str, only_if_empty: bool = False) -> str:
    """A stream description's XML with the sender's IPv4 address set (a resolved description
    leaves it empty: liblsl keeps the address elsewhere, and a description that crosses a
    process boundary needs it to connect)."""
    pattern = (
        r"<v4address\s*/>|<v4address>\s*</v4address>"
        if only_if_empty
        else r"<v4address\s*/>|<v4address>[^<]*</v4address>"
    )
    return re.sub(pattern, f"<v4address>{v4address}</v4address>", xml, count=1)


def info_from_xml(xml: str, v4address: str | None = None) -> pylsl.StreamInfo:
    """A pylsl StreamInfo from the XML a resolver or inlet produced (``as_xml()``).

    ``v4address`` fills in the sender's IPv4 address: a resolved description leaves it
    empty (liblsl keeps the address elsewhere), and an inlet needs it to connect when the
    description crossed a process boundary.
    """
    if v4address:
        xml = with_v4address(xml, v4address)
    handle = _liblsl.lsl_streaminfo_from_xml(xml.encode("utf-8"))
    if not handle:
        raise ValueError("liblsl could not read this stream description")
    return pylsl.StreamInfo(handle=handle)


# ---------------------------------------------------------------------------------------
# lsl_api.cfg: where liblsl reads its settings, and KnownPeers in it


def lsl_config_path() -> Path:
    """The ``lsl_api.cfg`` liblsl reads in a process started now (see the module docstring),
    or ``~/lsl_api/lsl_api.cfg`` — the per-user file — when none exists yet."""
    env = os.environ.get("LSLAPICFG")
    if env:
        return Path(env)
    local = Path("lsl_api.cfg")
    if local.is_file():
        return local.resolve()
    return Path.home() / "lsl_api" / "lsl_api.cfg"


_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KNOWN_PEERS = re.compile(r"^\s*KnownPeers\s*=\s*(.*?)\s*$", re.IGNORECASE)


def known_peers(config_text: str) -> list[str]:
    """The hosts in ``[lab] KnownPeers = {a, b}`` of an lsl_api.cfg text."""
    section = ""
    for line in config_text.splitlines():
        if m := _SECTION.match(line):
            section = m.group(1).strip().lower()
        elif section == "lab" and (m := _KNOWN_PEERS.match(line)):
            value = m.group(1).strip()
            if value.startswith("{") and value.endswith("}"):
                return [h.strip() for h in value[1:-1].split(",") if h.strip()]
    return []


def with_known_peers(config_text: str, hosts: Iterable[str]) -> str:
    """``config_text`` with ``[lab] KnownPeers`` set to ``hosts``; every other line, comments
    included, is kept as it was."""
    value = "KnownPeers = {" + ", ".join(hosts) + "}"
    lines = config_text.splitlines()
    section = ""
    lab_at = None
    for i, line in enumerate(lines):
        if m := _SECTION.match(line):
            section = m.group(1).strip().lower()
            if section == "lab":
                lab_at = i
        elif section == "lab" and _KNOWN_PEERS.match(line):
            lines[i] = value
            return "\n".join(lines) + "\n"
    if lab_at is not None:
        lines.insert(lab_at + 1, value)
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += ["[lab]", value]
    return "\n".join(lines) + "\n"


_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def check_host(host: str) -> str:
    """``host`` stripped, if it is an IP address or a host name; ValueError (with a sentence
    for the user) otherwise."""
    host = host.strip()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if _HOSTNAME.match(host):
        return host
    raise ValueError(f"'{host}' is neither an IP address (like 192.168.1.20) nor a computer name (like eeg-laptop).")


@dataclass(frozen=True)
class KnownHostResult:
    """What :meth:`StreamDirectory.add_known_host` did, in words for the user."""

    host: str
    saved_to: Path | None
    message: str


# ---------------------------------------------------------------------------------------
# The helper process that resolves with KnownPeers = {host}


class _PeerProbe:
    """One known host's helper process (:mod:`console.physio.peer_probe`) and the thread
    reading its reports. Started and stopped by the discovery thread."""

    def __init__(self, host: str, address: str, base_config: str, python: str, wait_s: float):
        self.host = host
        self.address = address
        self.streams: list[str] = []  # full XML of the streams it found last time
        self.reported_at: float | None = None
        self.error = ""
        self._lock = threading.Lock()
        fd, self._config_path = tempfile.mkstemp(prefix="vrclinic-peer-", suffix=".cfg")
        with os.fdopen(fd, "w") as fh:
            fh.write(with_known_peers(base_config, [address]))
        self.proc = subprocess.Popen(
            [python, "-m", "console.physio.peer_probe", "--wait", str(wait_s)],
            stdin=subprocess.PIPE,  # the helper exits when this closes, also if the console dies
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LSLAPICFG": self._config_path, "PYTHONUNBUFFERED": "1"},
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name=f"lsl-peer-{host}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.streams = list(report.get("streams", []))
                self.error = str(report.get("error", ""))
                self.reported_at = time.monotonic()
        with self._lock:
            self.error = self.error or "the helper process stopped"

    def latest(self) -> tuple[list[str], str, float | None]:
        with self._lock:
            return list(self.streams), self.error, self.reported_at

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin:
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.terminate()  # it holds nothing worth a graceful exit
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(2)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._reader.join(1)
        with contextlib.suppress(OSError):
            os.unlink(self._config_path)


# ---------------------------------------------------------------------------------------


ChangeCallback = Callable[[DirectoryChange], None]


class StreamDirectory:
    """The LSL streams visible from this computer, kept up to date by a discovery thread.

    Threads: :meth:`start`, :meth:`stop`, :meth:`snapshot`, :meth:`find`,
    :meth:`subscribe`, :meth:`add_known_host` and :meth:`known_hosts` may be called from
    any thread and return at once (no network waits). Callbacks given to
    :meth:`subscribe` run **in the discovery thread**: a Qt view must hand the change over
    to the GUI thread (a queued signal) or simply poll :meth:`snapshot` on a timer.
    """

    def __init__(
        self,
        *,
        poll_interval_s: float = 0.5,
        forget_after_s: float = 5.0,
        info_timeout_s: float = 1.5,
        config_path: Path | str | None = None,
        python: str = sys.executable,
        probe_wait_s: float = 1.0,
    ):
        self.poll_interval_s = poll_interval_s
        self.forget_after_s = forget_after_s
        self.info_timeout_s = info_timeout_s
        self.config_path = Path(config_path) if config_path is not None else lsl_config_path()
        self._python = python
        self._probe_wait_s = probe_wait_s
        self._lock = threading.Lock()
        self._streams: dict[str, StreamDescription] = {}
        self._full_info: dict[str, StreamDescription] = {}  # uid -> description with desc, cached
        self._callbacks: list[ChangeCallback] = []
        self._hosts: dict[str, str] = {}  # host -> status text
        self._pending_hosts: list[str] = []
        self._probes: dict[str, _PeerProbe] = {}
        self._status = "Not started."
        self._stop = threading.Event()
        self._changed = threading.Event()  # set after each discovery pass that changed the list
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> StreamDirectory:
        """Start the discovery thread (any thread; returns at once)."""
        if self._thread is None:
            self._stop.clear()
            self._status = "Searching for LSL streams…"
            self._thread = threading.Thread(target=self._run, name="lsl-discovery", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """Stop discovery and the known-host helpers (any thread but a callback's; waits up
        to ``timeout`` seconds for the discovery thread)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> StreamDirectory:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reading ---------------------------------------------------------------------

    def snapshot(self) -> list[StreamDescription]:
        """The streams visible now, sorted by type then name (any thread)."""
        with self._lock:
            streams = list(self._streams.values())
        return sorted(streams, key=lambda s: (s.type.lower(), s.name.lower(), s.hostname, s.uid))

    def find(self, uid: str) -> StreamDescription | None:
        """The stream with this uid, if it is visible now (any thread)."""
        with self._lock:
            return self._streams.get(uid)

    @property
    def status(self) -> str:
        """One sentence on how discovery is going (any thread)."""
        return self._status

    def subscribe(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(change)`` in the discovery thread whenever streams appear or
        disappear. Returns a function that unsubscribes. Exceptions in the callback are
        caught and shown in :attr:`status`."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def wait_for_change(self, timeout: float) -> bool:
        """Block until the next discovery pass that changed the list (for scripts and
        tests; never from the GUI thread)."""
        self._changed.clear()
        return self._changed.wait(timeout)

    # -- known hosts -----------------------------------------------------------------

    def add_known_host(self, host: str) -> KnownHostResult:
        """Search ``host`` directly from now on, and save it in liblsl's configuration.

        Any thread; returns at once (the name lookup and the search run in the discovery
        thread). ValueError with a sentence for the user when ``host`` is not an address or
        a computer name. See the module docstring for what happens and why.
        """
        host = check_host(host)
        saved_to: Path | None = self.config_path
        try:
            text = self.config_path.read_text() if self.config_path.is_file() else ""
            hosts = known_peers(text)
            if host not in hosts:
                self.config_path.parent.mkdir(parents=True, exist_ok=True)
                self.config_path.write_text(with_known_peers(text, [*hosts, host]))
            saved = (
                f"Saved in {self.config_path}: other LSL programs on this computer (LabRecorder, …) "
                "find it too once they are restarted."
            )
        except OSError as exc:
            saved_to = None
            saved = (
                f"Could not save it in {self.config_path} ({exc.strerror or exc}); the console searches it "
                f"until it closes. To keep it, add the line 'KnownPeers = {{{host}}}' under '[lab]' in that file."
            )
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = "looking up the address…"
                self._pending_hosts.append(host)
        return KnownHostResult(
            host, saved_to, f"{host} added: the console now also searches that computer directly. {saved}"
        )

    def known_hosts(self) -> dict[str, str]:
        """Each known host added in this session, with a status sentence (any thread)."""
        with self._lock:
            return dict(self._hosts)

    # -- the discovery thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            resolver = pylsl.ContinuousResolver(forget_after=self.forget_after_s)
        except Exception as exc:
            self._status = f"LSL discovery could not start ({exc}); physiology streams cannot be found."
            return
        self._status = "Searching for LSL streams…"
        try:
            while not self._stop.is_set():
                self._start_pending_probes()
                try:
                    found = {info.uid(): (info, "multicast") for info in resolver.results()}
                except Exception as exc:
                    self._status = f"LSL discovery failed: {exc}. Retrying."
                    found = {}
                found.update(self._probe_results(set(found)))
                self._update(found)
                self._stop.wait(self.poll_interval_s)
        finally:
            for probe in self._probes.values():
                probe.stop()
            self._probes.clear()
            del resolver

    def _start_pending_probes(self) -> None:
        with self._lock:
            pending, self._pending_hosts = self._pending_hosts, []
        for host in pending:
            try:
                address = socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
            except (OSError, IndexError) as exc:
                self._set_host(host, f"cannot find a computer named '{host}' ({exc}); check the name or use its IP.")
                continue
            try:
                base = self.config_path.read_text() if self.config_path.is_file() else ""
            except OSError:
                base = ""
            try:
                self._probes[host] = _PeerProbe(host, str(address), base, self._python, self._probe_wait_s)
            except OSError as exc:
                self._set_host(host, f"could not start the search helper ({exc}).")
                continue
            self._set_host(host, f"searching {address}…")

    def _set_host(self, host: str, text: str) -> None:
        with self._lock:
            self._hosts[host] = text

    def _probe_results(self, seen: set[str]) -> dict[str, tuple[Any, str]]:
        extra: dict[str, tuple[Any, str]] = {}
        for host, probe in list(self._probes.items()):
            xmls, error, reported_at = probe.latest()
            if not probe.alive():
                self._set_host(host, f"search helper stopped ({error or 'no reason given'}); restarting it.")
                probe.stop()
                del self._probes[host]
                with self._lock:
                    self._pending_hosts.append(host)
                continue
            if reported_at is None:
                continue
            own = 0
            for xml in xmls:
                match = re.search(r"<uid>([^<]*)</uid>", xml)
                if not match:
                    continue
                uid = match.group(1)
                if uid in seen or uid in extra:
                    continue
                try:
                    extra[uid] = (info_from_xml(xml, probe.address), f"known host {host}")
                    own += 1
                except ValueError:
                    continue
            if error:
                self._set_host(host, f"search failed: {error}")
            elif own:
                self._set_host(host, f"{own} stream(s) found only through this host ({probe.address}).")
            elif xmls:
                self._set_host(host, f"reachable; its streams are also found by multicast ({probe.address}).")
            else:
                self._set_host(
                    host,
                    f"no streams answer from {probe.address}: check that it is on and streaming, and that "
                    f"{LSL_PORTS_TEXT} are open between the two computers.",
                )
        return extra

    def _fetch_full(self, uid: str, info: Any, via: str) -> StreamDescription:
        """The stream's full description (with channel labels/units), asked once per uid."""
        cached = self._full_info.get(uid)
        if cached is not None:
            return cached
        described = describe(info, via)
        if via == "multicast" and not described.channel_labels:
            try:
                inlet = pylsl.StreamInlet(info, max_buflen=1, recover=False)
                full = inlet.info(timeout=self.info_timeout_s)
                # Keep the resolved info to open inlets from: it carries the sender's address.
                described = dataclasses.replace(describe(full, via), info=info)
                del inlet
            except Exception:
                pass  # the short description is still useful; labels will read 'ch N'
        self._full_info[uid] = described
        return described

    def _update(self, found: dict[str, tuple[Any, str]]) -> None:
        with self._lock:
            known = dict(self._streams)
        added = [self._fetch_full(uid, info, via) for uid, (info, via) in found.items() if uid not in known]
        removed = [d for uid, d in known.items() if uid not in found]
        for d in removed:
            self._full_info.pop(d.uid, None)
        count = len(found)
        self._status = (
            f"{count} LSL stream{'s' if count != 1 else ''} found."
            if count
            else "No LSL streams found yet. Check that the sensors' apps are streaming; if they run on another "
            "computer and multicast is blocked on this network, add that computer as a known host."
        )
        if not added and not removed:
            return
        with self._lock:
            for d in added:
                self._streams[d.uid] = d
            for d in removed:
                self._streams.pop(d.uid, None)
            callbacks = list(self._callbacks)
        change = DirectoryChange(tuple(added), tuple(removed))
        for callback in callbacks:
            try:
                callback(change)
            except Exception as exc:  # a view's bug must not stop discovery
                self._status = f"A stream-list listener failed: {exc!r}"
        self._changed.set()
