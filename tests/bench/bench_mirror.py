"""Mirror at 1280x720, 30 fps: capture -> decoded at the console, against the JPEG encode +
decode of the same frames measured in the same run (the floor: what any JPEG mirror pays)."""

from __future__ import annotations

import io
import queue
import time

from PIL import Image

from protocol import messages
from protocol.link import ConsoleLink, HeadsetJoined, LinkConfig, MirrorFrameReady
from tests.bench.common import pct, result, start_headset_sim, stop
from unity_bridge.sim import render

FPS = 30.0
WIDTH = 1280
QUALITY = 70
SECONDS = 10.0


def codec_floor_ms() -> tuple[float, float]:
    """Median encode and decode time of simulated-headset frames at the bench size."""
    enc, dec = [], []
    for i in range(30):
        image = render.render_view(
            "spiders", {"distance": 1.0, "count": 6, "size": 5, "movement": 0.5}, i / FPS, width=WIDTH
        )
        t0 = time.perf_counter()
        jpeg = render.encode_jpeg(image, QUALITY)
        t1 = time.perf_counter()
        Image.open(io.BytesIO(jpeg)).load()
        t2 = time.perf_counter()
        enc.append(t1 - t0)
        dec.append(t2 - t1)
    return pct(enc, 50) * 1000, pct(dec, 50) * 1000


def run() -> dict[str, dict]:
    encode_ms, decode_ms = codec_floor_ms()
    link = ConsoleLink(LinkConfig(bind="tcp://127.0.0.1:*"))
    sim = start_headset_sim(link, "mirror-bench")
    latencies, seqs, behind = [], [], []
    period = 1.0 / FPS
    try:
        next_beat = time.perf_counter()
        end = None
        while end is None or time.perf_counter() < end:
            if time.perf_counter() >= next_beat:
                link.beat()
                next_beat += link.config.heartbeat_interval_s
            try:
                event = link.events.get(timeout=0.005)
            except queue.Empty:
                continue
            if isinstance(event, HeadsetJoined):
                link.send(
                    event.name,
                    messages.LoadScene(
                        scene_id="spiders",
                        parameters=[
                            messages.ParameterValue(name="count", value=6),
                            messages.ParameterValue(name="movement", value=0.6),
                        ],
                    ),
                )
                link.send(
                    event.name, messages.MirrorSettings(enabled=True, max_fps=FPS, max_width=WIDTH, quality=QUALITY)
                )
                end = time.perf_counter() + SECONDS + 1.0
            elif isinstance(event, MirrorFrameReady):
                item = link.take_mirror_frame(event.name)
                if item is None or item.captured_at_local is None:
                    continue
                Image.open(io.BytesIO(item.frame.jpeg)).load()  # what the viewer does before showing it
                shown = time.perf_counter()
                if end is not None and shown < end - SECONDS:
                    continue  # the first second: warm-up
                latency = shown - item.captured_at_local
                latencies.append(latency)
                seqs.append(item.frame.seq)
                behind.append(int(latency // period))  # newer frames that existed when this one was shown
    finally:
        stop(sim)
        link.close()
    if not latencies:
        raise RuntimeError("no mirror frames arrived")
    span = seqs[-1] - seqs[0] + 1
    dropped = 100.0 * (span - len(seqs)) / span
    p95 = pct(latencies, 95) * 1000
    added = p95 - (encode_ms + decode_ms)
    out = {
        "mirror_latency_p95_ms": result(p95, "ms", size=f"{WIDTH}x720", fps=FPS),
        "mirror_latency_p50_ms": result(pct(latencies, 50) * 1000, "ms"),
        "mirror_jpeg_codec_ms": result(
            encode_ms + decode_ms, "ms", encode=round(encode_ms, 2), decode=round(decode_ms, 2)
        ),
        "mirror_added_latency_frames": result(
            added / (period * 1000), "frames", floor="mirror_jpeg_codec_ms", goal="<= 1"
        ),
        "mirror_fps": result(len(seqs) / SECONDS, "Hz"),
        "mirror_dropped_pct": result(dropped, "%"),
        "mirror_backlog_max": result(
            max(behind), "frames", goal="<= 1", meaning="newer frames already captured when a frame was shown"
        ),
    }
    print(
        f"mirror {WIDTH}x720 @ {FPS:g} fps: p95 {p95:.1f} ms capture->decoded (JPEG encode+decode alone "
        f"{encode_ms + decode_ms:.1f} ms, so {out['mirror_added_latency_frames']['value']:.2f} frames added); "
        f"{out['mirror_fps']['value']:.1f} fps shown, {dropped:.1f} % dropped, backlog max {max(behind)}",
        flush=True,
    )
    return out
