"""gpubench doctor: findings that explain a bad number (exit 1 if any is an error, else 0)."""

from __future__ import annotations

import argparse

NAME = "doctor"
HELP = "check the machine (driver, CUDA, PCIe under load, clocks, ECC, MIG, P2P/NVLink) and explain bad figures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print findings and readings as JSON")
    parser.add_argument(
        "--results", metavar="DIR", help="also judge the figures in this results store (the latest run of each suite)"
    )
    parser.add_argument("--run", help="with --results: judge this run only")
    parser.add_argument(
        "--readings",
        metavar="FILE",
        help="diagnose recorded readings (a 'doctor --json' output) instead of this machine",
    )
    parser.add_argument("--no-load", action="store_true", help="read PCIe links idle, without driving a copy")


def main(args: argparse.Namespace) -> int:
    # Imported here: judging recorded readings or a store must not import torch (collect() does).
    from gpubench import doctor
    from gpubench.files import strict_json
    from gpubench.store.read import read_results
    from gpubench.store.run_id import validate_run_id
    from gpubench.store.schema import StoreError

    readings = doctor.load_readings(args.readings) if args.readings else doctor.collect(load=not args.no_load)
    findings = doctor.diagnose(readings)
    judged_runs: dict[str, str] = {}
    if args.results:
        if args.run:
            run_id = validate_run_id(args.run)
            frame = read_results(args.results, run_id)
            findings += doctor.judge_run(frame)
            judged_runs = {str(suite): run_id for suite in frame["suite"].dropna().unique()}
        else:
            frame = read_results(args.results)
            if frame.empty:
                raise StoreError(f"no run in {args.results}")
            store_findings, judged_runs = doctor.judge_store(frame)
            findings += store_findings
    findings = doctor.sort_findings(findings)
    counts = doctor.count(findings)
    status = doctor.exit_code(findings)
    if args.json:
        document = {
            "exit_code": status,
            "counts": counts,
            "findings": [finding.as_dict() for finding in findings],
            "results_runs": judged_runs,
            "readings": readings,
        }
        print(strict_json.dumps(document))
        return status
    for finding in findings:
        print(finding.line())
    print(
        f"-- {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info; "
        f"readings: {readings.get('source', 'recorded')}"
    )
    return status
