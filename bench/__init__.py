"""Benchmarks: run with `make bench` (prints a table); not part of the test suite."""
