"""Benchmarks: run with `make bench`. Figures are ratios against a baseline run in the same process."""
