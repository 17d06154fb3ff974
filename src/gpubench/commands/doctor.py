"""gpubench doctor: findings that explain a bad number (exit 1 if any is an error, else 0)."""

from __future__ import annotations

import argparse
import json

from gpubench.store import latest_run_id, read_results

NAME = "doctor"
HELP = "check the machine (driver, CUDA, PCIe under load, clocks, ECC, MIG, P2P/NVLink) and explain bad figures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print findings and readings as JSON")
    parser.add_argument("--results", metavar="DIR", help="also judge the latest run in this results store")
    parser.add_argument("--run", help="with --results: the run to judge (default: the latest)")
    parser.add_argument(
        "--readings",
        metavar="FILE",
        help="diagnose recorded readings (a 'doctor --json' output) instead of this machine",
    )
    parser.add_argument("--no-load", action="store_true", help="read PCIe links idle, without driving a copy")


def main(args: argparse.Namespace) -> int:
    # torch (NVML, CUDA readings): imported when the doctor runs, not at every CLI start.
    from gpubench.doctor import collect, count, diagnose, exit_code, judge_run, load_readings, sort_findings

    readings = load_readings(args.readings) if args.readings else collect(load=not args.no_load)
    findings = diagnose(readings)
    run_id = None
    if args.results:
        run_id = args.run or latest_run_id(args.results)
        findings += judge_run(read_results(args.results, run_id))
    findings = sort_findings(findings)
    counts = count(findings)
    status = exit_code(findings)
    if args.json:
        document = {
            "exit_code": status,
            "counts": counts,
            "findings": [finding.as_dict() for finding in findings],
            "results_run": run_id,
            "readings": readings,
        }
        print(json.dumps(document, indent=2))
        return status
    for finding in findings:
        print(finding.line())
    print(
        f"-- {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info; "
        f"readings: {readings.get('source', 'recorded')}"
    )
    return status
