"""Verdicts between runs: slower, faster, same, or noisy, without crying wolf.

A candidate run is judged case by case against one or several baseline runs on its raw samples:
``judge`` holds the rule (centre, allowance, ``detectable``, the U test; its numbers are in
``analysis.rules``), ``compare_frames`` applies it to every case of two sets of runs, and
``VERDICTS`` lists the verdicts (a new one is added here and, for its colour, in views/report.py).
The method and its measured false-alarm and detection rates: docs/compare.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from gpubench import suites
from gpubench.analysis.rules import ALPHA, DEFAULT_BETWEEN_RUN_NOISE, DEFAULT_THRESHOLD, NOISE_FACTOR
from gpubench.analysis.significance import mann_whitney, ratio_interval
from gpubench.store.machine import ENVIRONMENT_COLUMNS, MACHINE_COLUMNS

VERDICTS = ("slower", "faster", "same", "noisy")

# The figure a case is shown by comes from its suite (``gpubench.suites.headline_metric``). All
# are derived from the time samples, so they only change how a result reads, never its verdict.
HIGHER_IS_BETTER = re.compile(r"(gbps|gibps|tflops|gflops|_per_s|ops)$")

# What explains a change between runs: shown at the top of a comparison when it differs.
ENV_COLUMNS = (*ENVIRONMENT_COLUMNS, *MACHINE_COLUMNS, "profile")


def higher_is_better(metric: str) -> bool:
    """Bandwidths and rates (``gbps``, ``busbw_gbps``, ``tflops``...) go up when things improve."""
    return bool(HIGHER_IS_BETTER.search(metric))


@dataclass(frozen=True)
class RunSample:
    """One run's figures for one case: its median time and raw per-operation samples (seconds)."""

    run_id: str
    median_s: float
    samples_s: tuple[float, ...] | None = None


@dataclass(frozen=True)
class NoisePrior:
    """Between-run noise of a case from outside the comparison (log scale, in the units of the
    largest excursion of a baseline run from the centre), and where it came from."""

    between: float
    source: str  # "store history" or "default"
    runs: int = 0  # history runs it was estimated from


DEFAULT_PRIOR = NoisePrior(math.log1p(DEFAULT_BETWEEN_RUN_NOISE), "default")


@dataclass(frozen=True)
class Judgement:
    verdict: str
    ratio: float  # candidate median time / centre of the baseline medians (> 1: slower)
    ci_low: float  # confidence interval of the ratio, from the raw samples (nan without samples)
    ci_high: float
    p_value: float  # Mann-Whitney, candidate samples against the pooled baseline samples
    baseline_runs: int
    centre_s: float
    spread: float  # between-run: max / min of the baseline run medians - 1 (nan for one run)
    detectable: float  # smallest slowdown (fraction) this case could be called slower for
    note: str = ""
    noise_source: str = "baseline runs"  # between-run noise: "baseline runs", "store history", "default"


def judge(
    baseline: Sequence[RunSample],
    candidate: RunSample,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = ALPHA,
    noise_factor: float = NOISE_FACTOR,
    min_runs: int = 1,
    prior: NoisePrior | None = None,
) -> Judgement:
    """The verdict for one case, see the module docstring. ``prior``: the between-run noise to
    assume when there is one baseline run (default: ``DEFAULT_PRIOR``)."""
    if not baseline:
        raise ValueError("judge needs at least one baseline run")
    medians = np.array([run.median_s for run in baseline], dtype=float)
    centre = float(np.median(medians))
    ratio = candidate.median_s / centre
    if len(medians) > 1:
        spread = float(medians.max() / medians.min() - 1)
        between, source = float(np.abs(np.log(medians / centre)).max()), "baseline runs"
    else:
        prior = prior or DEFAULT_PRIOR
        spread, between, source = math.nan, prior.between, prior.source

    pooled = [value for run in baseline for value in (run.samples_s or ())]
    if pooled and candidate.samples_s:
        p_value = mann_whitney(pooled, candidate.samples_s).p
        interval = ratio_interval(pooled, candidate.samples_s, confidence=1 - alpha)
        ci_low, ci_high = interval.low, interval.high
        within = max(half_log_iqr(pooled), half_log_iqr(candidate.samples_s))
    else:
        p_value = ci_low = ci_high = math.nan
        within = math.inf
    allowance = max(noise_factor * between, within)
    margin = math.log1p(threshold) + allowance
    detectable = math.expm1(margin)
    shift = math.log(ratio)
    significant = p_value < alpha

    def result(verdict: str, note: str = "") -> Judgement:
        return Judgement(
            verdict, ratio, ci_low, ci_high, p_value, len(baseline), centre, spread, detectable, note, source
        )  # fmt: skip

    if len(baseline) < min_runs:
        return result("noisy", f"only {len(baseline)} baseline run(s); {min_runs} needed to weigh between-run noise")
    if math.isnan(p_value):
        return result("noisy", "no raw samples to test (pytest-benchmark stats.data missing)")
    if significant and shift > margin:
        return result("slower")
    if significant and shift < -margin:
        return result("faster")
    if abs(shift) > math.log1p(threshold):
        if abs(shift) > margin:
            return result("noisy", f"moved {ratio - 1:+.1%} but not significantly (p = {p_value:.2g})")
        why = "between-run" if noise_factor * between >= within else "within-run"
        band = f"{ratio - 1:+.1%} is inside the {why} noise band: detectable from {detectable:.1%}"
        return result("noisy", band + (f" ({source})" if why == "between-run" else ""))
    return result("same")


def half_log_iqr(samples: Sequence[float]) -> float:
    """Half the interquartile range on a log scale: ~ the relative scatter of a run's samples."""
    q1, q3 = np.quantile(np.asarray(samples, dtype=float), [0.25, 0.75])
    return math.log(q3 / q1) / 2 if q1 > 0 else math.inf


@dataclass
class CaseComparison:
    suite: str
    case: str
    judgement: Judgement
    metric: str  # the headline figure: a metric column, or "median_s"
    baseline_value: float
    candidate_value: float

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def higher_is_better(self) -> bool:
        return self.metric != "median_s" and higher_is_better(self.metric)

    @property
    def metric_ratio(self) -> tuple[float, float, float]:
        """candidate / baseline of the headline figure, with its interval (bandwidth: 1/time)."""
        j = self.judgement
        if self.higher_is_better:
            return 1 / j.ratio, 1 / j.ci_high, 1 / j.ci_low
        return j.ratio, j.ci_low, j.ci_high


@dataclass(frozen=True)
class Unmatched:
    suite: str
    case: str
    where: str  # "baseline only", "candidate only", "measured on neither side"
    reason: str = ""


@dataclass(frozen=True)
class EnvDifference:
    key: str
    baseline: str
    candidate: str


@dataclass
class Comparison:
    baseline_runs: list[str]
    candidate_run: str
    threshold: float
    alpha: float
    cases: list[CaseComparison] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    env: list[EnvDifference] = field(default_factory=list)

    def with_verdict(self, verdict: str) -> list[CaseComparison]:
        return [case for case in self.cases if case.verdict == verdict]

    @property
    def slower(self) -> list[CaseComparison]:
        return self.with_verdict("slower")

    def counts(self) -> dict[str, int]:
        return {verdict: len(self.with_verdict(verdict)) for verdict in VERDICTS}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for case in self.cases:
            ratio, low, high = case.metric_ratio
            rows.append(
                {
                    "suite": case.suite,
                    "case": case.case,
                    "metric": case.metric,
                    "baseline": case.baseline_value,
                    "candidate": case.candidate_value,
                    "metric_ratio": ratio,
                    "metric_ratio_low": low,
                    "metric_ratio_high": high,
                    **asdict(case.judgement),
                }
            )
        return pd.DataFrame(rows)


def compare_frames(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = ALPHA,
    noise_factor: float = NOISE_FACTOR,
    min_runs: int = 1,
    priors: Mapping[tuple[str, str], NoisePrior] | None = None,
) -> Comparison:
    """Judge every case of ``candidate`` (one run) against ``baseline`` (one run or several).

    ``priors``: per (suite, case), the between-run noise to assume where a case has one
    baseline run (``history_noise.noise_priors``); ``DEFAULT_PRIOR`` for the others."""
    candidate_runs = candidate["run_id"].astype(str).unique() if len(candidate) else []
    if len(candidate_runs) != 1:
        raise ValueError(f"the candidate must be one run, got {len(candidate_runs)}")
    baseline_runs = list(dict.fromkeys(baseline["run_id"].astype(str))) if len(baseline) else []
    comparison = Comparison(baseline_runs, str(candidate_runs[0]), threshold, alpha)
    comparison.env = env_differences(baseline, candidate)
    base_rows = _CaseRows(baseline)
    cand_rows = _CaseRows(candidate)
    for key in list(dict.fromkeys([*cand_rows.groups, *base_rows.groups])):
        suite, case = key
        base = base_rows.groups.get(key, _NONE)
        cand = cand_rows.groups.get(key, _NONE)
        base_ok = base_rows.measured(base)
        cand_ok = cand_rows.measured(cand)
        if len(base_ok) and len(cand_ok):
            prior = (priors or {}).get(key)
            runs = [base_rows.run_sample(position) for position in base_ok]
            candidate_run = cand_rows.run_sample(cand_ok[0])
            judgement = judge(runs, candidate_run, threshold, alpha, noise_factor, min_runs, prior)
            metric = _headline(suite, base_rows, base_ok, cand_rows, cand_ok[0])
            if metric == "median_s":
                base_value, cand_value = judgement.centre_s, candidate_run.median_s
            else:
                base_value = float(np.median(base_rows.values[metric][base_ok].astype(float)))
                cand_value = float(cand_rows.values[metric][cand_ok[0]])
            comparison.cases.append(CaseComparison(suite, case, judgement, metric, base_value, cand_value))
        elif len(base_ok) or len(cand_ok):
            reason = cand_rows.skip_reason(cand) if len(base_ok) else base_rows.skip_reason(base)
            where = "baseline only" if len(base_ok) else "candidate only"
            comparison.unmatched.append(Unmatched(suite, case, where, reason))
        else:
            reasons = [*base_rows.skip_reasons(base), *cand_rows.skip_reasons(cand)]
            reason = "; ".join(dict.fromkeys(reasons)) or "not measured"
            comparison.unmatched.append(Unmatched(suite, case, "measured on neither side", reason))
    return comparison


def run_sample(run_id: object, samples: object, median: object, case: object) -> RunSample:
    """One run's samples of a case; the median of the samples when there are any, else ``median``."""
    if samples is not None and not isinstance(samples, float) and len(samples):
        values = tuple(float(value) for value in samples)
        return RunSample(str(run_id), float(np.median(values)), values)
    if median is None or pd.isna(median):
        raise ValueError(f"case {case} of run {run_id} has neither samples nor a median")
    return RunSample(str(run_id), float(median), None)


def _headline(suite: str, base: _CaseRows, base_ok: np.ndarray, cand: _CaseRows, cand_row: int) -> str:
    """The suite's headline metric among those the candidate row and every baseline row have."""
    known = [
        metric
        for metric in suites.headline_candidates(suite)
        if metric in cand.present
        and cand.present[metric][cand_row]
        and metric in base.present
        and base.present[metric][base_ok].all()
    ]
    return suites.headline_metric(suite, known)


def env_differences(baseline: pd.DataFrame, candidate: pd.DataFrame) -> list[EnvDifference]:
    """Environment columns whose values are not the same on both sides (or vary in the baseline)."""
    differences = []
    for key in ENV_COLUMNS:
        before = _values(baseline, key)
        after = _values(candidate, key)
        if before != after:
            differences.append(EnvDifference(key, ", ".join(before) or "-", ", ".join(after) or "-"))
    return differences


def case_keys(frame: pd.DataFrame) -> pd.Series:
    """(suite, case) per row; a case name repeated within one run falls back to its fullname."""
    keys = list(zip(frame["suite"].astype(str), frame["case"].astype(str), strict=True))
    runs = frame["run_id"].astype(str).tolist()
    seen = pd.Series([(run, *key) for run, key in zip(runs, keys, strict=True)]).duplicated(keep=False)
    if seen.any() and "fullname" in frame:
        fullnames = frame["fullname"].astype(str).tolist()
        keys = [(key[0], fullnames[i]) if seen.iloc[i] else key for i, key in enumerate(keys)]
    return pd.Series(keys, index=frame.index)


# What judging a case reads of its rows: only these columns are turned into arrays.
_JUDGED_COLUMNS = ("run_id", "suite", "case", "status", "skip_reason", "median_s", "samples_s", *suites.all_headlines())
_NONE = np.zeros(0, dtype=np.intp)


class _CaseRows:
    """A frame's judged columns as numpy arrays (numbers as float64 with NaN, the rest as objects
    with None) and the row positions of each (suite, case): judging a case indexes arrays, where
    slicing a DataFrame of nullable columns per case cost seconds at a few thousand rows."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.present: dict[str, np.ndarray] = {}
        self.groups: dict[tuple[str, str], np.ndarray] = {}
        self.ok = np.zeros(0, dtype=bool)
        if frame.empty:
            return
        for name in _JUDGED_COLUMNS:
            if name not in frame:
                continue
            column = frame[name]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                self.values[name] = column.to_numpy(dtype=float, na_value=np.nan)
            else:
                self.values[name] = column.to_numpy(dtype=object, na_value=None)
            self.present[name] = ~pd.isna(self.values[name])
        groups: dict[tuple[str, str], list[int]] = {}
        for position, key in enumerate(case_keys(frame)):
            groups.setdefault(key, []).append(position)
        self.groups = {key: np.array(positions, dtype=np.intp) for key, positions in groups.items()}
        self.ok = self.values["status"] == "ok"

    def measured(self, positions: np.ndarray) -> np.ndarray:
        return positions[self.ok[positions]] if len(positions) else positions

    def run_sample(self, position: int) -> RunSample:
        def value(name: str) -> object:
            return self.values[name][position] if name in self.values else None

        return run_sample(value("run_id"), value("samples_s"), value("median_s"), value("case"))

    def skip_reasons(self, positions: np.ndarray) -> list[str]:
        """The rows' skip reasons, each once, in order."""
        if "skip_reason" not in self.values:
            return []
        present = positions[self.present["skip_reason"][positions]]
        return list(dict.fromkeys(str(value) for value in self.values["skip_reason"][present]))

    def skip_reason(self, positions: np.ndarray) -> str:
        if not len(positions):
            return "not in this run"
        return "; ".join(self.skip_reasons(positions)) or "not measured"


def _values(frame: pd.DataFrame, key: str) -> list[str]:
    if key not in frame or frame.empty:
        return []
    return sorted({str(value) for value in frame[key].dropna().unique()})
