"""Composition roots: the command line, the Qt console, the demo and the text monitor. The
only place that wires rooms together."""
