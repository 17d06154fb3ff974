"""One fresh process per flag combination: how the conv suite keeps cuDNN's plan cache honest.

``ConvSession`` (one per pytest session) runs, the first time a case of a (device, flags)
combination is asked for, one worker process (``gpubench.measure.workers.run_in_worker``) that serves
every selected case of that combination: ``serve`` sets nothing globally, each case applies its
flags and restores them (``conv.measure``), and ``conv.claim_plan_keys`` refuses to run any
convolution twice in the process. On CUDA the kernels of every case are recorded once, after all
of them were timed (``attach_kernels``), so the profiler never runs before a timing. The results
are kept for the session; each pytest case then reports its own. Combinations run one after
another, never side by side, so they do not compete for the device.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure.devices import require_cuda
from gpubench.measure.result import CaseResult, CaseSkipped
from gpubench.measure.workers import WorkerError, run_in_worker
from gpubench.suites.conv import case as conv
from gpubench.suites.conv.case import ConvConfig, Flags

Combo = tuple[str, Flags]
# Worker deadline: start-up (CUDA context, library loading) plus a generous allowance per case.
STARTUP_S = 120.0
PER_CASE_S = 30.0


def combo_of(config: ConvConfig) -> Combo:
    return (config.device, config.flags)


def serve(device: str, flags: Flags, configs: Sequence[ConvConfig]) -> list[CaseResult | BaseException]:
    """Worker entry point: measure each case of one combination in this process, in order.

    Returns one outcome per case: its CaseResult, the CaseSkipped saying why it cannot run, or
    the error it failed with (so one failing case does not take the others down).
    """
    strangers = [config.id for config in configs if combo_of(config) != (device, flags)]
    if strangers:
        raise ValueError(f"worker for {device} {flags.label} was handed other combinations: {', '.join(strangers)}")
    outcomes: list[CaseResult | BaseException] = []
    try:
        with conv.applied_flags(flags, allow_tf32=True):
            conv.prime(device, sorted({(config.dtype, config.layout) for config in configs}))
    except CaseSkipped as skip:
        return [skip for _ in configs]
    for config in configs:
        try:
            outcomes.append(conv.measure(config))
        except CaseSkipped as skip:
            outcomes.append(skip)
        except Exception as error:
            outcomes.append(_portable(error))
    if device == "cuda":
        attach_kernels(configs, outcomes)
    return outcomes


def attach_kernels(configs: Sequence[ConvConfig], outcomes: list[CaseResult | BaseException]) -> None:
    """Record the kernels of every measured static case, once, now that all of them are timed."""
    measured = [
        (config, outcome)
        for config, outcome in zip(configs, outcomes, strict=True)
        if isinstance(outcome, CaseResult) and not config.batch_sizes
    ]
    if not measured:
        return
    try:
        kernels, error = conv.record_kernels([config for config, _ in measured], require_cuda(0)), None
    except Exception as failure:  # the profiler itself failed: every case says so
        kernels, error = {}, f"torch.profiler failed: {type(failure).__name__}: {failure}"
    for config, result in measured:
        result.info.update(conv.kernel_info(kernels.get(config.id), error))


def _portable(error: Exception) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


class ConvSession:
    """Outcomes of the selected cases, measured one combination per fresh worker, on demand."""

    def __init__(self, selected: Sequence[ConvConfig]) -> None:
        self._selected = list(dict.fromkeys(selected))
        self._outcomes: dict[ConvConfig, CaseResult | BaseException] = {}
        self.workers_started = 0

    def result(self, config: ConvConfig) -> CaseResult:
        """The case's result; raises CaseSkipped, or the error the case (or its worker) failed with."""
        if config not in self._outcomes:
            self._run_combo(config)
        outcome = self._outcomes[config]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _run_combo(self, config: ConvConfig) -> None:
        combo = combo_of(config)
        cases = [case for case in self._selected if combo_of(case) == combo and case not in self._outcomes]
        if config not in cases:
            cases.append(config)
        reason = cuda_unavailable_reason() if combo[0] == "cuda" else None
        if reason:
            outcomes: list = [CaseSkipped(reason)] * len(cases)
        else:
            outcomes = self._spawn(combo, cases)
        self._outcomes.update(zip(cases, outcomes, strict=True))

    def _spawn(self, combo: Combo, cases: list[ConvConfig]) -> list:
        device, flags = combo
        label = f"conv worker {device} {flags.label} ({len(cases)} cases)"
        self.workers_started += 1
        try:
            return run_in_worker(serve, device, flags, cases, timeout=STARTUP_S + PER_CASE_S * len(cases), label=label)
        except Exception as error:  # the worker died, timed out or refused: every case of it fails
            text = str(error) if isinstance(error, WorkerError) else f"{type(error).__name__}: {error}"
            return [WorkerError(f"{label}: {text}")] * len(cases)
