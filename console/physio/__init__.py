"""Physiology from Lab Streaming Layer, without Qt: finding streams (:mod:`.streams`),
pulling them into ring buffers on the console's clock (:mod:`.acquisition`) and judging
their quality in words (:mod:`.quality`), and what the body says: heart rate, skin
conductance and breathing from a recording (:mod:`.metrics`, NeuroKit2) and live, in a process
of their own (:mod:`.live_metrics`, :mod:`.metrics_proc`). Qt views live in
:mod:`console.qt.physio_panel`.

Nothing is imported here: the metrics process and ``vrclinic report`` import
:mod:`.metrics` alone, without LSL."""
