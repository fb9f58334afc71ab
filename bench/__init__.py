"""Benchmarks: each starts its own servers on loopback, measures a baseline in the same run,
and prints the result as a ratio to it. Run them with `python -m bench.<name>`."""
