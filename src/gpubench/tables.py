"""Text tables in the nccl-tests manner: one line per case, every column named with its unit."""

from __future__ import annotations

import pandas as pd

# (column in the store, heading with unit, format) per suite.
Column = tuple[str, str, str]
SUITE_COLUMNS: dict[str, list[Column]] = {
    "copy": [
        ("direction", "direction", "{}"),
        ("host_memory", "host mem", "{}"),
        ("bytes", "size (B)", "{:.0f}"),
        ("latency_us", "time (us)", "{:.2f}"),
        ("gbps", "GB/s", "{:.2f}"),
        ("pcie_efficiency_pct", "% of PCIe", "{:.1f}"),
    ],
    "allreduce": [
        ("backend", "backend", "{}"),
        ("device", "device", "{}"),
        ("world_size", "ranks", "{:.0f}"),
        ("nodes", "nodes", "{:.0f}"),
        ("dtype", "type", "{}"),
        ("bytes", "size (B)", "{:.0f}"),
        ("count", "count (elts)", "{:.0f}"),
        ("latency_us", "time (us, max rank)", "{:.2f}"),
        ("algbw_gbps", "algbw (GB/s)", "{:.3f}"),
        ("busbw_gbps", "busbw (GB/s)", "{:.3f}"),
        ("busbw_pct_of_link", "% of link", "{:.1f}"),
        ("wrong", "#wrong", "{:.0f}"),
    ],
    "conv": [
        ("device", "device", "{}"),
        ("shape", "shape", "{}"),
        ("batch", "N", "{:.0f}"),
        ("dtype", "dtype", "{}"),
        ("allow_tf32", "tf32", "{}"),
        ("layout", "layout", "{}"),
        ("direction", "pass", "{}"),
        ("cudnn_benchmark", "bench", "{}"),
        ("cudnn_deterministic", "determ", "{}"),
        ("median_s", "time (us)", "{:.1f}"),
        ("tflops", "TFLOP/s", "{:.3f}"),
        ("first_call_s", "1st call (s)", "{:.4f}"),
        ("deterministic_output", "bitwise same", "{}"),
        ("max_abs_diff", "max |diff|", "{:.2g}"),
    ],
}
COMMON_TAIL: list[Column] = [("iqr_s", "IQR (us)", "{:.2f}"), ("rounds", "n", "{:.0f}")]


def summary(frame: pd.DataFrame) -> str:
    """Every suite of ``frame``: measured cases as tables, then the skipped ones with reasons."""
    parts = []
    for suite, rows in frame.groupby("suite", sort=False):
        measured = rows[rows["status"] == "ok"]
        if not measured.empty:
            parts.append(f"# {suite}\n{_table(measured, SUITE_COLUMNS.get(str(suite)))}")
        skipped = rows[rows["status"] == "skipped"]
        if not skipped.empty:
            reasons = skipped.groupby("skip_reason").size()
            parts.append(
                f"# {suite}: {len(skipped)} case(s) skipped\n"
                + "\n".join(f"#   {count} x {reason}" for reason, count in reasons.items())
            )
    return "\n\n".join(parts) if parts else "no results"


def _table(rows: pd.DataFrame, columns: list[Column] | None) -> str:
    if columns is None:  # a suite without a layout: name and median time
        columns = [("case", "case", "{}"), ("median_s", "median (us)", "{:.2f}")]
    columns = [column for column in columns if column[0] in rows] + COMMON_TAIL
    cells = [[heading for _, heading, _ in columns]]
    for _, row in rows.iterrows():
        cells.append([_cell(row, key, fmt) for key, _, fmt in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(text.rjust(width) for text, width in zip(line, widths, strict=True)) for line in cells]
    lines[0] = "#" + lines[0][1:] if lines[0].startswith(" ") else "#" + lines[0]
    return "\n".join(lines)


def _cell(row: pd.Series, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if key in ("iqr_s", "median_s"):
        value = float(value) * 1e6
    try:
        return fmt.format(value)
    except (ValueError, TypeError):  # a column of mixed types, stored as JSON text: shown as it is
        return str(value)
