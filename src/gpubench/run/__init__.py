"""One run of the suites under pytest: the fixture and the one writer of pytest-benchmark documents."""
