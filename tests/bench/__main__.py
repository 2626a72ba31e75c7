"""Run every benchmark and write bench-results.json (``make bench``)."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from tests.bench import (
    bench_console,
    bench_heartbeat,
    bench_link,
    bench_metrics,
    bench_mirror,
    bench_plot,
    bench_record,
)


def main() -> int:
    results: dict[str, dict] = {}
    started = time.time()
    for bench in (bench_link, bench_mirror, bench_console, bench_plot, bench_record, bench_metrics, bench_heartbeat):
        print(f"== {bench.__name__.rsplit('.', 1)[-1]}", flush=True)
        results.update(bench.run())
    doc = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
        "seconds": round(time.time() - started, 1),
        **results,
    }
    out = Path("bench-results.json")
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
