"""``python -m console`` is ``vrclinic``: how the console starts its own helpers (simulators,
recorder) with the same interpreter, installed or not."""

from console.apps.cli import main

raise SystemExit(main())
