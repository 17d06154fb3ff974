"""Module-level functions for worker tests: spawned processes must import what they run."""

import os
import time


def add(a, b):
    return a + b


def fail(message):
    raise RuntimeError(message)


def crash(code):
    os._exit(code)


def hang(seconds):
    time.sleep(seconds)


def pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def read_env(name):
    return os.environ.get(name)


def crash_or_hang(rank):
    if rank == 1:
        time.sleep(0.5)
        os._exit(7)
    time.sleep(60)
