"""Faults proved (``make faults``): the patient's scene goes calm by itself, within the
watchdog timeout, whatever happens to the console or the network, and never otherwise.

Measured from the headset's side, with the console and every headset in processes of their
own (and, for the network faults, in network namespaces of their own), and written into
bench-results.json next to the benchmarks' figures:

- ``kill``: ``kill -9`` of the console window (``vrclinic console``);
- ``stop``: ``SIGSTOP`` of it (frozen, sockets still open);
- ``loss``: 100 % packet loss for 1 s on the veth pair between the console's namespace and
  the headset's;
- ``delay``: 500 ms of added delay for 1 s on that pair;
- ``soak``: a session with two headsets, two patients' physiology, recording and a CPU hog,
  for ``FAULTS_SOAK_S`` (default 1800) seconds: false trips, the console's memory growth
  and the samples lost between the simulators and the recorded XDF.

``python -m tests.faults --help`` for the counts; the modules:
:mod:`~tests.faults.procs` (processes), :mod:`~tests.faults.headset` (the timed headset
process), :mod:`~tests.faults.netns` and :mod:`~tests.faults.wire` (namespaces, netem and
its user-space stand-in), :mod:`~tests.faults.trials` (the fault trials),
:mod:`~tests.faults.soak`, :mod:`~tests.faults.soak_console` and
:mod:`~tests.faults.physio` (the soak).
"""
