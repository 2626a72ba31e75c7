"""Benchmarks (`make bench`): each figure is printed as a ratio against a floor measured in
the same run on the same machine, and all of them are written to bench-results.json."""
