"""gpubench fleet: every machine of a GPU model against its peers; exit 1 if one is slower beyond the rule."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpubench.compare import parse_threshold
from gpubench.compare_format import format_value
from gpubench.fleet import MAD_FACTOR, MIN_GAP, MIN_PEERS, Fleet, judge_fleet, latest_figures, to_json
from gpubench.store import StoreError
from gpubench.store.location import locate
from gpubench.store.read import case_pattern_regex

NAME = "fleet"
HELP = "set each machine's latest figures against its peers (same GPU model); exit 1 if one is slower"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", nargs="+", metavar="SUITE", help="only these suites")
    parser.add_argument(
        "--case", metavar="PATTERN", help="only cases whose name contains PATTERN (or matches it, with * or ?)"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output (default: table)")
    parser.add_argument("--results", default="results", help="results store: folder or fsspec URL (default: results/)")
    parser.add_argument("--out", help="where the PNG goes (default: <results>/fleet/ for a local store)")
    parser.add_argument(
        "--min-peers", type=int, default=MIN_PEERS, help=f"peers a machine needs to be judged (default: {MIN_PEERS})"
    )
    parser.add_argument(
        "--min-gap", default=f"{MIN_GAP:.0%}", help=f"smallest difference to the peers worth flagging ({MIN_GAP:.0%})"
    )


def main(args: argparse.Namespace) -> int:
    regex = case_pattern_regex(args.case) if args.case else None
    latest, runs = latest_figures(args.results, args.suite, regex)
    if latest.empty:
        raise StoreError(f"no measured case to set against peers in {args.results}")
    fleet = judge_fleet(latest, runs, args.min_peers, MAD_FACTOR, parse_threshold(args.min_gap))
    plots = _plots(fleet, args)
    if args.format == "json":
        print(to_json(fleet, [str(path) for path in plots]))
    else:
        print(table(fleet))
        for path in plots:
            print(path)
    return fleet.exit_code


def _plots(fleet: Fleet, args: argparse.Namespace) -> list[Path]:
    if args.out:
        out = Path(args.out)
    elif locate(args.results).is_local:
        out = Path(args.results) / "fleet"
    else:
        return []  # a remote store: figures only where --out says
    from gpubench.plots.fleet import plot_fleet  # matplotlib only when drawing

    return plot_fleet(fleet, out)


def table(fleet: Fleet) -> str:
    rule = fleet.rule
    lines = [
        f"# fleet: {len(fleet.standings)} machine-case figure(s) judged, {fleet.unjudged} with fewer than "
        f"{rule['min_peers']:.0f} peers; outlier: > {rule['mad_factor']} x MAD of the peers and >= "
        f"{rule['min_gap']:.0%} from their median"
    ]
    faster = [standing for standing in fleet.outliers if not standing.slower]
    for title, standings in (("slower outliers (fail)", fleet.slower_outliers), ("faster outliers (shown)", faster)):
        if standings:
            lines.append(f"# {title}")
            rows = [["machine", "case", "figure", "peers' median", "ratio", "peers"]]
            rows += [[s.machine, s.case, format_value(s.metric, s.value), format_value(s.metric, s.peers_median),
                      f"x{s.ratio:.3f}", str(s.peers)] for s in standings]  # fmt: skip
            lines += _aligned(rows)
    machines = fleet.machines()
    if len(machines):
        lines.append("# machines (time ratio: above 1 is slower than the peers)")
        rows = [["machine", "cases", "slower", "faster", "median time ratio"]]
        rows += [[str(r.machine), str(r.cases), str(r.slower_outliers), str(r.faster_outliers),
                  f"x{r.median_time_ratio:.3f}"] for r in machines.itertuples()]  # fmt: skip
        lines += _aligned(rows)
    if fleet.environment:
        lines.append("# environment differences among peers (figures compare only where setups agree)")
        for spread in fleet.environment:
            values = ", ".join(f"{machine.split(' @ ')[-1]}={value}" for machine, value in spread.values.items())
            lines.append(f"  {spread.gpu_name}: {spread.key}: {values}")
    if not fleet.outliers:
        lines.append("no outlier: every judged machine is within the rule of its peers")
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
