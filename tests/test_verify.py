"""gpubench verify: the judgement, the interleaving, a deliberately biased method caught, the stored rows."""

from __future__ import annotations

import json
import math
import statistics

import pytest
import torch
from support import cli

from gpubench import store
from gpubench.analysis.rules import parse_tolerance
from gpubench.measure.agreement import Check, Pair, Skip, biased, interleave
from gpubench.pipeline import store_document
from gpubench.suites import SUITES, unjudged_suites
from gpubench.suites.collectives import verify as collectives_verify
from gpubench.suites.conv import verify as conv_verify
from gpubench.suites.conv.shapes import ConvShape
from gpubench.verify import record, runner, table


def steady_pair(ours_s: float = 1e-3, reference_s: float = 1e-3, calls: list | None = None) -> Pair:
    """Two methods that measure the same operation the same way (their figures are exact)."""

    def ours() -> float:
        if calls is not None:
            calls.append("ours")
        return ours_s

    def reference() -> float:
        if calls is not None:
            calls.append("reference")
        return reference_s

    return Pair("copy", "h2h test", "ours", "reference", ours=ours, reference=reference)


def test_rounds_alternate_which_method_goes_first():
    calls = []
    check = interleave(steady_pair(calls=calls), rounds=5, tolerance=0.05)
    assert calls == ["ours", "reference", "reference", "ours"] * 2 + ["ours", "reference"]
    assert check.rounds == 5 and check.ratio == 1.0 and check.status == "ok" and not check.fails


def test_a_reference_biased_by_a_third_is_reported_outside_the_tolerance():
    pair = biased(steady_pair(), 1.3)  # the reference now reports 1.3x the time it measured
    check = interleave(pair, rounds=5, tolerance=0.10)
    assert check.ratio == pytest.approx(1 / 1.3)
    assert check.stable and not check.within and check.fails and check.status == "OUTSIDE"
    assert "does not hold" in check.reason and "deliberately biased x1.3" in check.reference_method
    assert runner.exit_code([check]) == 1


def test_the_same_bias_through_the_runner_fails_the_command(monkeypatch):
    monkeypatch.setattr(runner, "pairs_of", lambda name: [steady_pair()])
    honest = runner.run_checks(["copy"], rounds=5, tolerance=0.05)
    assert runner.exit_code(honest) == 0
    wrong = runner.run_checks(["copy"], rounds=5, tolerance=0.05, reference_bias=1.3)
    assert runner.exit_code(wrong) == 1 and wrong[0].status == "OUTSIDE"


def test_an_unstable_reference_fails_nothing_and_says_why():
    figures = iter([1.0, 1.4, 0.8, 1.5, 0.7])
    pair = Pair("conv", "noisy", "ours", "reference", ours=lambda: 2.0, reference=lambda: next(figures))
    check = interleave(pair, rounds=5, tolerance=0.05)
    assert not check.stable and not check.within and not check.fails
    assert check.status == "unstable" and "reference unstable" in check.reason
    assert runner.exit_code([check]) == 0


@pytest.mark.parametrize(
    ("rule", "ratio", "within"),
    [
        ("equal", 1.049, True),
        ("equal", 0.949, False),
        ("at-most", 0.5, True),  # a spin that lasts longer than assumed is fine
        ("at-most", 1.06, False),
        ("below", 0.5, True),  # enqueue left the span
        ("below", 0.97, False),
    ],
)
def test_rules(rule, ratio, within):
    check = Check("spin", "x", (ratio,) * 5, (1.0,) * 5, 0.05, rule=rule)
    assert check.within is within


def test_too_few_rounds_and_bad_tolerances_are_refused():
    with pytest.raises(ValueError, match="at least 5 rounds"):
        interleave(steady_pair(), rounds=4, tolerance=0.05)
    assert parse_tolerance("10%") == pytest.approx(0.10) and parse_tolerance("0.05") == 0.05
    for bad in ("ten", "0", "150%"):
        with pytest.raises(ValueError, match="tolerance"):
            parse_tolerance(bad)


def test_a_check_that_errors_is_reported_and_fails(monkeypatch):
    def broken() -> float:
        raise RuntimeError("worker died")

    monkeypatch.setattr(runner, "pairs_of", lambda name: [Pair("conv", "c", "o", "r", ours=broken, reference=broken)])
    (outcome,) = runner.run_checks(["conv"], rounds=5, tolerance=0.05)
    assert isinstance(outcome, Skip) and outcome.error and "worker died" in outcome.reason
    assert runner.exit_code([outcome]) == 1


def test_table_and_json():
    outcomes = [
        interleave(steady_pair(1.02e-3), rounds=5, tolerance=0.05),
        Skip("spin", "length 10 ms", "the spin kernel needs a GPU: no CUDA"),
    ]
    text = table.text(outcomes, 0.05, 5)
    assert "gpubench (us)" in text and "reference (us)" in text and "ratio IQR (%)" in text
    assert "1.020" in text and "# spin length 10 ms: the spin kernel needs a GPU" in text
    data = table.as_json(outcomes, 0.05, "run-1")
    ok, skipped = data["checks"]
    assert {"suite", "case", "gpubench_s", "reference_s", "ratio", "within"} <= set(ok)
    assert ok["ratio"] == pytest.approx(1.02) and ok["within"] is True
    assert skipped["status"] == "skipped" and skipped["ratio"] is None


def test_verify_rows_are_stored_unjudged_and_never_the_latest_run(copy_json, tmp_path):
    assert "verify" in unjudged_suites() and SUITES["verify"].headline == "ratio"
    store.ingest(copy_json, tmp_path)
    outcomes = [interleave(steady_pair(1.02e-3), 5, 0.05), Skip("spin", "length 10 ms", "no GPU")]
    stored = store_document(record.document(outcomes), tmp_path)
    rows = store.read_results(tmp_path, stored.run_id)
    assert set(rows["suite"]) == {"verify"} and set(rows["target"]) == {"copy", "spin"}
    measured = rows[rows["status"] == "ok"].iloc[0]
    assert measured["ratio"] == pytest.approx(1.02) and measured["verdict"] == "ok"
    assert rows[rows["status"] == "skipped"].iloc[0]["skip_reason"] == "no GPU"
    assert store.latest_run_id(tmp_path) != stored.run_id  # the copy run, although verify's came later


def test_a_store_of_verify_runs_only_has_no_latest_run(tmp_path):
    store_document(record.document([interleave(steady_pair(), 5, 0.05)]), tmp_path)
    with pytest.raises(store.StoreError, match="only gpubench verify"):
        store.latest_run_id(tmp_path)


def test_cli_host_copy_on_this_machine(tmp_path):
    """The real thing, copies only (the cheapest check): strict JSON, the rows stored."""
    done = cli("verify", "--suite", "copy", "spin", "--json", "--tolerance", "10%", "--results", str(tmp_path))
    assert done.returncode in (0, 1), done.stderr  # 1 only if this busy host put a stable ratio out
    data = json.loads(done.stdout, parse_constant=lambda name: pytest.fail(f"non-strict JSON: {name}"))
    checks = {(check["suite"], check["status"]) for check in data["checks"]}
    if not torch.cuda.is_available():
        assert ("spin", "skipped") in checks
    copy = next(check for check in data["checks"] if check["suite"] == "copy")
    assert math.isfinite(copy["ratio"]) and copy["rounds"] == 5 and copy["gpubench_s"] > 0
    # Both methods time the same 256 MiB copy, round by round in alternating order: however this
    # shared host's load moves, they agree to well within x1.5 (a reference off by x2 is caught).
    assert AGREE[0] < copy["ratio"] < AGREE[1], copy
    within = abs(copy["ratio"] - 1) <= 0.10  # the --tolerance given, applied here
    assert copy["within"] is within and done.returncode == (1 if copy["stable"] and not within else 0)
    assert store.read_results(tmp_path, data["run_id"])["suite"].eq("verify").all()


# Two honest methods timing the same operation, round by round, on a shared 2-core host: the
# median of their per-round ratios stays inside this band (verify's own 5 rounds on a quiet host:
# Gloo 0.80-0.93, conv 0.84-0.99, docs/verify.md); a method off by x2 falls outside.
AGREE = (1 / 1.5, 1.5)
TINY_CONV = ConvShape("tiny_8to8_3x3_16", 1, 8, 8, 16, 16, 3, 3, 1, 1, 1)


def agreeing_ratio(pair: Pair, rounds: int, most: int = 5) -> float:
    """The median per-round ratio after ``rounds`` rounds (gpubench first, then alternating), or,
    while it lies outside ``AGREE``, after more rounds, up to ``most``: one round this host's load
    threw off costs a round more, where a wrong method stays outside however many rounds it gets."""
    ratios: list[float] = []
    while True:
        ours, reference = pair.round(reference_first=len(ratios) % 2 == 1)
        assert ours > 0 and reference > 0
        ratios.append(ours / reference)
        ratio = statistics.median(ratios)
        if len(ratios) >= most or (len(ratios) >= rounds and AGREE[0] < ratio < AGREE[1]):
            return ratio


def test_the_conv_reference_runs_on_the_cpu_and_agrees():
    """verify's conv reference for real at a tiny shape: a fresh worker a round, each order once."""
    (pair,) = conv_verify.pairs(TINY_CONV, min_run_s=0.05)
    assert pair.case.startswith("tiny_8to8_3x3_16 n1 cpu fp32 forward")
    ratio = agreeing_ratio(pair, rounds=2)
    assert AGREE[0] < ratio < AGREE[1], ratio


def test_the_allreduce_reference_runs_on_gloo_and_agrees():
    """verify's AllReduce reference for real: Gloo, 2 spawned ranks, 16 MiB; NCCL skipped with why."""
    gloo, nccl = collectives_verify.pairs()
    assert isinstance(nccl, Skip) or torch.cuda.device_count() >= 2
    assert gloo.case == "gloo cpu 2 ranks 16 MiB" and gloo.params["bytes"] == 16 << 20
    ratio = agreeing_ratio(gloo, rounds=1)  # gpubench first: the reference loops as many times
    assert AGREE[0] < ratio < AGREE[1], ratio
