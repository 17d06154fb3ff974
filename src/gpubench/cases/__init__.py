"""Benchmark cases: a plain config dataclass and a ``measure(config) -> CaseResult`` per suite.

They run without pytest; ``benchmarks/`` wraps them for pytest-benchmark.
"""
