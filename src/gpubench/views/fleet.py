"""A Fleet as text: aligned tables for a terminal, or strict JSON. Every figure carries its unit."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from gpubench.files import strict_json
from gpubench.views import text_table
from gpubench.views.compare import format_value

if TYPE_CHECKING:
    from gpubench.analysis.fleet import Fleet

OUTLIER_HEADINGS = ("machine", "case", "figure", "peers' median", "ratio", "peers")
MAX_ROWS = 1000  # outliers a table lists; JSON lists every one
MACHINE_HEADINGS = ("machine", "cases", "slower", "faster", "median time ratio")


def table(fleet: Fleet) -> str:
    """The rule, the slower outliers (they fail), the faster ones, each machine's summary and the
    environment keys on which peers differ."""
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
            rows = [[s.machine, s.case, format_value(s.metric, s.value), format_value(s.metric, s.peers_median),
                     f"x{s.ratio:.3f}", str(s.peers)] for s in standings[:MAX_ROWS]]  # fmt: skip
            lines += text_table.aligned(OUTLIER_HEADINGS, rows, left={0, 1})
            if len(standings) > MAX_ROWS:
                lines.append(f"# {len(standings) - MAX_ROWS} more (--format json lists every one)")
    machines = fleet.machines()
    if len(machines):
        lines.append("# machines (time ratio: above 1 is slower than the peers)")
        rows = [[str(r.machine), str(r.cases), str(r.slower_outliers), str(r.faster_outliers),
                 f"x{r.median_time_ratio:.3f}"] for r in machines.itertuples()]  # fmt: skip
        lines += text_table.aligned(MACHINE_HEADINGS, rows, left={0})
    if fleet.environment:
        lines.append("# environment differences among peers (figures compare only where setups agree)")
        for spread in fleet.environment:
            values = ", ".join(f"{machine.split(' @ ')[-1]}={value}" for machine, value in spread.values.items())
            lines.append(f"  {spread.gpu_name}: {spread.key}: {values}")
    if not fleet.outliers:
        lines.append("no outlier: every judged machine is within the rule of its peers")
    return text_table.lines_of(lines)


def to_json(fleet: Fleet, plots: list[str] | None = None) -> str:
    """Strict JSON (no NaN or Infinity): outliers first, then every machine's summary."""
    document = {
        "outliers": [asdict(standing) for standing in fleet.outliers],
        "machines": fleet.machines().to_dict(orient="records"),
        "environment": [asdict(spread) for spread in fleet.environment],
        "judged": len(fleet.standings),
        "unjudged": fleet.unjudged,
        "rule": fleet.rule,
        "plots": plots or [],
        "exit_code": fleet.exit_code,
    }
    return strict_json.dumps(document)
