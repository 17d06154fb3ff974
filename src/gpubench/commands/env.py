"""gpubench env: the environment fingerprint that every run records."""

from __future__ import annotations

import argparse

NAME = "env"
HELP = "print the environment fingerprint (versions, GPUs, PCIe links, host, commit)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def main(args: argparse.Namespace) -> int:
    from gpubench.files import strict_json
    from gpubench.machine.fingerprint import fingerprint  # torch: the fingerprint is torch's own versions and devices

    env = fingerprint()
    if args.json:
        print(strict_json.dumps(env))
        return 0
    gpus = env.pop("gpus")
    width = max(len(key) for key in env)
    for key, value in env.items():
        print(f"{key:<{width}}  {'-' if value is None else value}")
    for index, gpu in enumerate(gpus):
        print(f"gpu {index}: " + ", ".join(f"{key}={value}" for key, value in gpu.items()))
    return 0
