"""The soak: a long session in which nothing is wrong, under load, that must not once make a
patient's scene safe, must not grow the console's memory, and must record every sample.

What runs, each in a process of its own, in a scratch console home (secrets in files there)
with an LSL configuration of its own (this machine only, ports of its own):

- the **console**: the window (offscreen) recording the session to XDF, with a therapist
  using it all along (:mod:`tests.faults.soak_console`), listening on loopback;
- **two headsets**, paired beforehand (``vrclinic devices pair-local``): the timed simulated
  headset (:mod:`tests.faults.headset`), each with its simulated patient;
- **full physiology for both patients**: two physiology simulators
  (:mod:`tests.faults.physio`), each following one headset's patient: ECG 500 Hz, PPG
  100 Hz, EDA 32 Hz, respiration 50 Hz, and for the first patient also 32 channels of EEG
  at 1 kHz; they keep what they sent;
- a **CPU hog**: one busy-loop process per core, at normal priority (nice 0; ``--hog-nice``
  changes it), from the moment both headsets are connected and the recording runs until
  the end of the soak.

Figures:

- ``soak_false_trips``: the times a headset's watchdog made its scene safe during the soak
  (goal 0: the console was fine all along);
- ``soak_rss_growth_pct``: the console process's resident memory at the end over that at the
  end of the warm-up (the first quarter, at most 5 minutes: the physiology ring buffers
  become resident as they fill), in % (goal <= 5); also from the soak's start, and the
  memory minute by minute;
- ``soak_samples_lost``: samples the simulators sent from the first one recorded on, that
  the XDF (read back with pyxdf) does not hold with the same timestamp and values (goal 0).
  The simulators stop 3 s before the console is closed (as the window's Quit closes it,
  SIGTERM), so everything they sent should be in the file.

Threads: the run's main thread.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from protocol.timing import now
from tests.faults import procs
from tests.faults.physio import fingerprint
from tests.faults.procs import Child

HEADSETS = ("soak-headset-1", "soak-headset-2")
PREFIXES = ("vrclinic-sim-p1", "vrclinic-sim-p2")
KINDS = ("ECG", "PPG", "EDA", "RESP")
RSS_EVERY_S = 5.0
START_TIMEOUT_S = 90.0  # everything started, connected and recording, on a loaded machine
DRAIN_S = 3.0  # after the simulators stop, before the console closes
CLOSE_TIMEOUT_S = 90.0


def warmup_s(seconds: float) -> float:
    """Until the console's buffers are full: its physiology ring buffers (60 s of every stream,
    allocated at once but resident only as they are first written) take a few minutes."""
    return min(300.0, seconds / 4)


def run(seconds: float, say: Callable[[str], None], tmp: Path, hog_nice: int = 0, eeg: bool = True) -> dict[str, dict]:
    """The soak, its files in the folder ``tmp`` (made here); its figures for bench-results.json."""
    from tests.bench.common import console_stalls, result

    home = tmp / "home"
    home.mkdir(parents=True)
    env = procs.scratch_env(home, procs.lsl_config(tmp))
    keys = [procs.pair(env, name, tmp / f"{name}.keys.json") for name in HEADSETS]
    port = procs.free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    folder = tmp / "session"
    outs = [tmp / f"{prefix}.npz" for prefix in PREFIXES]
    names = [f"{prefix}-{kind}" for prefix in PREFIXES for kind in KINDS] + ([f"{PREFIXES[0]}-EEG"] if eeg else [])
    children: list[Child] = []
    hogs: list[subprocess.Popen] = []
    rss: list[tuple[float, int]] = []
    figures: dict[str, dict] = {}
    try:
        physio = []
        for i, (prefix, headset, out) in enumerate(zip(PREFIXES, HEADSETS, outs, strict=True)):
            argv = ["-m", "tests.faults.physio", "--prefix", prefix, "--follow", headset, "--out", str(out)]
            argv += ["--seed", str(i + 1)] + (["--eeg32"] if eeg and i == 0 else [])
            physio.append(Child(procs.python(*argv), env, name=prefix))
        children += physio
        for p in physio:
            if not p.wait_for(lambda p=p: any("streaming" in line for line in p.lines), START_TIMEOUT_S):
                raise RuntimeError(f"the physiology simulator did not start:\n{p.tail()}")
        headsets = []
        for name, k in zip(HEADSETS, keys, strict=True):
            argv = ["-m", "tests.faults.headset", "--console", endpoint, "--name", name, "--keys", str(k)]
            headsets.append(Child(procs.python(*argv, "--patient", "--seed", "7"), env, name=name))
        children += headsets
        console = Child(
            procs.python(
                "-m",
                "tests.faults.soak_console",
                "--bind",
                endpoint,
                "--record",
                str(folder),
                "--expect",
                ",".join(names),
            ),
            env,
            name="console",
        )
        children.append(console)
        for h in headsets:
            if h.wait_report("connected", START_TIMEOUT_S) is None:
                raise RuntimeError(f"{h.name} did not connect:\n{console.tail()}\n{h.tail()}")
        if not console.wait_for(
            lambda: any("recording " in line and " streams to " in line for line in console.lines), START_TIMEOUT_S
        ):
            raise RuntimeError(f"the console did not start recording:\n{console.tail()}")
        started = now()
        at_connect = procs.rss_kb(console.pid)
        hogs = procs.cpu_hog(os.cpu_count() or 2, hog_nice)
        say(
            f"soak: {seconds:g} s, 2 headsets, {len(names)} physiology streams, recording, "
            f"{len(hogs)} CPU hog processes at nice {hog_nice}"
        )
        end = started + seconds
        next_say = started + 60
        while (t := now()) < end:
            kb = procs.rss_kb(console.pid)
            if kb is None or not all(c.alive() for c in children):
                gone = [c.name for c in children if not c.alive()]
                raise RuntimeError(
                    f"{', '.join(gone)} ended during the soak:\n" + "\n".join(c.tail(10) for c in children)
                )
            rss.append((t - started, kb))
            if t >= next_say:
                trips = sum(len(_watchdog_trips(h, started, t)) for h in headsets)
                say(f"  soak {t - started:.0f} s: console {kb / 1024:.0f} MB, {trips} watchdog trips")
                next_say += 60
            procs.sleep_until(min(end, t + RSS_EVERY_S))
        ended = now()
        rss.append((ended - started, procs.rss_kb(console.pid) or 0))
        recorder_kb = sum(procs.rss_kb(pid) or 0 for pid in procs.children_of(console.pid))
        procs.end_all(hogs)
        trips = {h.name: _watchdog_trips(h, started, ended) for h in headsets}
        before = sum(len(_watchdog_trips(h, 0.0, started)) for h in headsets)
        byes = sum(1 for h in headsets for r in h.events("safe") if r.get("kind") == "bye" and r["safe_at"] < ended)
        for p in physio:
            p.stop(30)
        procs.sleep_until(now() + DRAIN_S)
        code = console.stop(CLOSE_TIMEOUT_S)
        actions = next((line.split()[-1] for line in console.lines if line.startswith("soak-console actions")), "?")
        for h in headsets:
            h.stop()
        # -- figures ---------------------------------------------------------------------
        warm = warmup_s(seconds)
        start_kb = next(kb for t, kb in rss if t >= warm)
        end_kb = rss[-1][1]
        false_trips = sum(len(v) for v in trips.values())
        load = f"{len(hogs)} busy-loop processes at nice {hog_nice}" + (
            " (normal priority)" if hog_nice == 0 else " (lower priority than the console)"
        )
        figures["soak_false_trips"] = result(
            false_trips,
            "trips",
            goal="0",
            seconds=round(ended - started, 1),
            headsets=len(HEADSETS),
            per_headset={k: len(v) for k, v in trips.items()},
            # When each trip was (s into the soak), how long the headset had heard nothing, and
            # whether the other headset tripped within 0.2 s too (then the console stalled).
            trips=[
                {
                    "headset": name,
                    "at_s": round(r["safe_at"] - started, 2),
                    "silent_ms": round((r["silent_s"] or 0) * 1000),
                    "both": any(
                        abs(o["safe_at"] - r["safe_at"]) < 0.2 for n, v in trips.items() if n != name for o in v
                    ),
                }
                for name, v in trips.items()
                for r in v
            ][:20],
            # Where the console's GUI thread was when its heartbeat loop stood still (its stall
            # watch), in the order they came.
            console_stalls=console_stalls(console.lines),
            trips_before_soak=before,
            unexpected_byes=byes,
            physiology=names,
            recording=True,
            cpu_hog=load,
            therapist_actions=actions,
            console_exit=code,
        )
        figures["soak_rss_growth_pct"] = result(
            (end_kb - start_kb) / start_kb * 100,
            "%",
            goal="<= 5",
            start_mb=round(start_kb / 1024, 1),
            end_mb=round(end_kb / 1024, 1),
            max_mb=round(max(kb for _, kb in rss) / 1024, 1),
            mb_by_minute=[
                round(next(kb for t, kb in rss if t >= 60 * m) / 1024, 1) for m in range(int(rss[-1][0] // 60) + 1)
            ],
            warmup_s=warm,
            at_soak_start_mb=round((at_connect or 0) / 1024, 1),
            growth_from_soak_start_pct=round((end_kb - at_connect) / at_connect * 100, 2) if at_connect else None,
            recorder_processes_mb=round(recorder_kb / 1024, 1),
            of="the console process (VmRSS), end of warm-up to end of soak",
        )
        sent = _sent(outs)
        lost, of, detail = samples_lost(sorted(folder.glob("*.xdf")), sent)
        figures["soak_samples_lost"] = result(
            lost,
            "samples",
            goal="0",
            of=of,
            per_stream=detail,
            reader_problems=_reader_problems(folder, env),
            measured="every sample sent from the first one recorded on, found in the XDF with its timestamp and values",
        )
        return figures
    finally:
        procs.end_all(hogs)
        for c in reversed(children):
            c.stop()


def _watchdog_trips(headset: Child, since: float, until: float) -> list[dict]:
    return [
        r for r in headset.events("safe") if r.get("kind") == "watchdog" and since <= (r.get("safe_at") or 0) < until
    ]


def _sent(outs: list[Path]) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """What the simulators sent: stream name -> (timestamps, fingerprints, rate)."""
    sent: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for out in outs:
        if not out.exists():
            raise RuntimeError(f"{out.name} was not written: the simulator did not end cleanly")
        with np.load(out) as data:
            for key in data.files:
                name, what = key.split("|")
                if what == "stamps":
                    sent[name] = (data[key], data[f"{name}|prints"], float(data[f"{name}|rate"]))
    return sent


def samples_lost(
    parts: list[Path], sent: dict[str, tuple[np.ndarray, np.ndarray, float]]
) -> tuple[int, int, dict[str, str]]:
    """Samples lost between what was sent and the recording's parts (read with pyxdf, raw
    timestamps): see :func:`count_lost`."""
    import pyxdf

    recorded: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for part in parts:
        streams, _ = pyxdf.load_xdf(str(part), synchronize_clocks=False, dejitter_timestamps=False)
        for s in streams:
            name = s["info"]["name"][0]
            if name in sent and len(s["time_stamps"]):
                recorded.setdefault(name, []).append((np.asarray(s["time_stamps"]), np.asarray(s["time_series"])))
    return count_lost(recorded, sent)


def count_lost(
    recorded: dict[str, list[tuple[np.ndarray, np.ndarray]]], sent: dict[str, tuple[np.ndarray, np.ndarray, float]]
) -> tuple[int, int, dict[str, str]]:
    """Samples lost over every stream sent: (lost, expected, a sentence per stream).
    ``recorded``: per stream name, the (timestamps, values) of each recorded part.

    A sample sent is expected in the recording when it was sent at or after the first sample
    of its stream that the recording holds (what came before the recorder connected is not
    lost); it is found when a recorded sample has its timestamp (within a quarter of the
    sample interval) and its values (the fingerprint). A recorded sample with the values of
    the sample its neighbours place there but another timestamp is that sample recorded with
    a wrong timestamp: not found (lost), and said. Duplicates and samples the sender never
    sent are reported too."""
    lost_total, expected_total, detail = 0, 0, {}
    for name, (stamps, prints, rate) in sorted(sent.items()):
        if name not in recorded:
            lost_total += len(stamps)
            expected_total += len(stamps)
            detail[name] = f"not in the recording: all {len(stamps)} samples sent lost"
            continue
        r_stamps = np.concatenate([t for t, _ in recorded[name]])
        r_prints = np.concatenate([fingerprint(v) for _, v in recorded[name]])
        k = np.rint((r_stamps - stamps[0]) * rate).astype(np.int64)
        inside = (k >= 0) & (k < len(stamps))
        inside[inside] &= np.abs(r_stamps[inside] - stamps[k[inside]]) <= 0.25 / rate
        # A recorded sample whose timestamp is not one sent may still be a sample sent, with a
        # wrong timestamp: it sits where its neighbours say, and has that sample's values.
        misstamped: list[int] = []
        positions = np.flatnonzero(inside)
        off_s = 0.0
        for i in np.flatnonzero(~inside):
            j = np.searchsorted(positions, i)
            near = positions[j] if j < len(positions) else (positions[j - 1] if j else None)
            if near is None:
                continue
            guess = int(k[near] + (i - near))
            if 0 <= guess < len(stamps) and r_prints[i] == prints[guess]:
                misstamped.append(guess)
                off_s = max(off_s, abs(float(r_stamps[i] - stamps[guess])))
        kv = k[inside]
        good = np.unique(kv[r_prints[inside] == prints[kv]])
        known = np.concatenate([kv, np.asarray(misstamped, dtype=np.int64)])
        first = int(known.min()) if len(known) else 0  # nothing of it recorded: all lost
        expected = len(stamps) - first
        lost = expected - len(good)
        wrong = len(np.setdiff1d(np.unique(kv), good))
        duplicates = len(kv) - len(np.unique(kv))
        foreign = int((~inside).sum()) - len(misstamped)
        lost_total += lost
        expected_total += expected
        text = f"{len(good)} of {expected} ({expected / rate:.1f} s) found, {lost} lost"
        if misstamped:
            text += f" ({len(misstamped)} of them recorded with a wrong timestamp, up to {off_s:.3f} s off)"
        if wrong or duplicates or foreign:
            text += f"; {wrong} with other values, {duplicates} twice, {foreign} never sent"
        text += f"; the first {first} ({first / rate:.1f} s) were sent before the recording began"
        detail[name] = text
    return lost_total, expected_total, detail


def _reader_problems(folder: Path, env: dict[str, str]) -> list[str] | str:
    """What the project's own reader (as the review window and the report use it) says is
    missing or damaged in the recording, read in the soak's home (its audit key)."""
    code = (
        "import json, sys; from pathlib import Path; from console.records import recorded; "
        "print(json.dumps(recorded.load(Path(sys.argv[1])).problems))"
    )
    done = subprocess.run(
        procs.python("-c", code, str(folder)), env=env, capture_output=True, text=True, timeout=300, cwd=procs.REPO
    )
    if done.returncode != 0:
        return f"the reader failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
    import json

    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"the reader said: {done.stdout.strip()[-500:]}"
