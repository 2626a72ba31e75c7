"""Helper process: resolve LSL streams with this process's own liblsl configuration.

:class:`console.physio.streams.StreamDirectory` starts one per known host, with
``LSLAPICFG`` pointing to a configuration whose ``KnownPeers`` holds that host (liblsl reads
its configuration only once per process, so the console's own liblsl cannot learn a new
peer). Every ``--wait`` seconds it prints one JSON line, ``{"streams": [xml, ...],
"error": ""}``, with the full description (channel labels and units included) of every
stream it finds. It exits when its standard input closes, so it never outlives the console.

Run by the console; ``python -m console.physio.peer_probe --wait 1`` by hand shows what a
host's configuration finds.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wait", type=float, default=1.0, help="seconds each search listens for answers")
    args = parser.parse_args(argv)

    import pylsl

    stdin_closed = threading.Event()

    def watch_stdin() -> None:
        try:
            while sys.stdin.read(4096):
                pass
        finally:
            stdin_closed.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    full: dict[str, str] = {}  # uid -> full XML, asked once per stream
    while not stdin_closed.is_set():
        error = ""
        xmls: list[str] = []
        try:
            infos = pylsl.resolve_streams(wait_time=args.wait)
            uids = set()
            for info in infos:
                uid = info.uid()
                uids.add(uid)
                if uid not in full:
                    try:
                        full[uid] = pylsl.StreamInlet(info, max_buflen=1, recover=False).info(timeout=1.0).as_xml()
                    except Exception:
                        full[uid] = info.as_xml()
                xmls.append(full[uid])
            for uid in set(full) - uids:
                del full[uid]
        except Exception as exc:  # report and keep trying: the console shows it to the technician
            error = str(exc) or type(exc).__name__
        try:
            print(json.dumps({"streams": xmls, "error": error}), flush=True)
        except (BrokenPipeError, OSError):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
