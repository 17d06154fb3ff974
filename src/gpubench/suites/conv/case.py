"""cuDNN convolution: what ``cudnn.benchmark`` and ``cudnn.deterministic`` cost or buy, per shape.

One case is one convolution pass (forward, backward-data or backward-weight) of one shape, dtype
and layout under one flag combination, or (scenario ``dynamic``) training steps over varying batch
sizes. This module measures a case (steady state, first call, reproducibility, a float64 check,
the kernels that ran) and refuses to run any (shape, dtype, layout, direction) twice in one process
(``claim_plan_keys``): PyTorch's plan cache ignores ``benchmark``, so each flag combination runs in a
fresh worker (``worker.py``). Method and figures: docs/conv.md. Kernels are matched to their case
through the op that launched them (correlation id), never by GPU timestamps; the dynamic
scenario's rate is ``dynamic_tflops``, not the steady-state ``tflops``.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from gpubench.measure.devices import cpu_threads, require_cuda, require_memory, synchronize
from gpubench.measure.result import CaseResult, Scalar, VerificationError
from gpubench.measure.stats import Measurement
from gpubench.measure.timing import Timer
from gpubench.suites.conv.shapes import ConvShape, conv_flops, shape_set
from gpubench.suites.profiles import check_profile

SUITE = "conv"
DEVICES = ("cpu", "cuda")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
LAYOUTS = ("nchw", "channels_last")
DIRECTIONS = ("forward", "backward_data", "backward_weight")
TRAINING_STEP = "training_step"  # the dynamic scenario: forward, then backward to input and weight
REPEATS = 3  # calls compared bit for bit against the first one
# Relative error (max |result - float64| / max |float64|) a correct pass stays under.
TOLERANCE = {"float32": 1e-3, "float32_tf32": 1e-2, "float16": 2e-2, "bfloat16": 6e-2}
CPU_NOTE = (
    "cuDNN flags do not apply on the CPU: PyTorch ran this convolution through its {backend} backend "
    "(Mkldnn = oneDNN); benchmark/deterministic/allow_tf32 were set and are recorded but change nothing here"
)


@dataclass(frozen=True)
class Flags:
    """One of the four ``cudnn.benchmark`` x ``cudnn.deterministic`` combinations."""

    benchmark: bool
    deterministic: bool

    @property
    def label(self) -> str:
        return f"bench_{'on' if self.benchmark else 'off'}-det_{'on' if self.deterministic else 'off'}"


FLAG_COMBOS = (Flags(False, False), Flags(True, False), Flags(False, True), Flags(True, True))
DEFAULT_FLAGS = FLAG_COMBOS[0]  # PyTorch's defaults: the baseline every speed-up is measured against


@dataclass(frozen=True)
class ConvConfig:
    """One conv case. ``batch_sizes`` non-empty makes it the dynamic scenario (direction training_step)."""

    shape: ConvShape
    device: str
    dtype: str
    layout: str
    direction: str
    flags: Flags
    allow_tf32: bool = True
    batch_sizes: tuple[int, ...] = ()
    threads: int | None = None  # CPU threads for the case; None keeps torch's default
    samples: int = 15
    warmup: int = 3

    def __post_init__(self) -> None:
        checks = [
            (self.device, DEVICES, "device"),
            (self.dtype, tuple(DTYPES), "dtype"),
            (self.layout, LAYOUTS, "layout"),
            (self.direction, (TRAINING_STEP,) if self.batch_sizes else DIRECTIONS, "direction"),
        ]
        for value, allowed, what in checks:
            if value not in allowed:
                raise ValueError(f"unknown conv {what} {value!r}; expected one of {', '.join(allowed)}")
        if self.batch_sizes and min(self.batch_sizes) < 1:
            raise ValueError(f"batch sizes must be positive, got {self.batch_sizes}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be positive, got {self.threads}")

    @property
    def scenario(self) -> str:
        return "dynamic" if self.batch_sizes else "static"

    @property
    def batch(self) -> int:
        return max(self.batch_sizes) if self.batch_sizes else self.shape.batch

    @property
    def precision(self) -> str:
        """The dtype as it computes: float32 with TF32 allowed is its own precision, on CUDA (no CPU has TF32)."""
        tf32 = self.device == "cuda" and self.dtype == "float32" and self.allow_tf32
        return "float32_tf32" if tf32 else self.dtype

    @property
    def id(self) -> str:
        short = {"float32": "fp32", "float32_tf32": "fp32_tf32", "float16": "fp16", "bfloat16": "bf16"}
        parts = (self.device, self.shape.name, f"n{self.batch}", short[self.precision], self.layout, self.scenario)
        return "-".join((*parts, self.direction, self.flags.label))

    def params(self) -> dict[str, Scalar]:
        shape = self.shape
        return {
            "shape": shape.name,
            "device": self.device,
            "dtype": self.dtype,
            "allow_tf32": self.allow_tf32,
            "layout": self.layout,
            "direction": self.direction,
            "scenario": self.scenario,
            "cudnn_benchmark": self.flags.benchmark,
            "cudnn_deterministic": self.flags.deterministic,
            "batch": self.batch,
            "in_channels": shape.in_channels,
            "out_channels": shape.out_channels,
            "height": shape.height,
            "width": shape.width,
            "kernel_h": shape.kernel_h,
            "kernel_w": shape.kernel_w,
            "stride": shape.stride,
            "padding": shape.padding,
            "groups": shape.groups,
        }


# --- the flags --------------------------------------------------------------------------------


@contextmanager
def applied_flags(flags: Flags, allow_tf32: bool) -> Iterator[None]:
    """The case's cuDNN flags, restored on exit whatever happens (``enabled=True``: flags() defaults to off)."""
    with torch.backends.cudnn.flags(
        enabled=True, benchmark=flags.benchmark, deterministic=flags.deterministic, allow_tf32=allow_tf32
    ):
        yield


def flags_in_effect() -> str:
    cudnn = torch.backends.cudnn
    return (
        f"enabled={cudnn.enabled} benchmark={cudnn.benchmark} deterministic={cudnn.deterministic} "
        f"allow_tf32={cudnn.allow_tf32} benchmark_limit={cudnn.benchmark_limit}"
    )


# --- one process, one run per plan key ----------------------------------------------------------


class PlanCacheReuse(RuntimeError):
    """A convolution ran twice in one process: its second measurement would reuse the first plan."""


_PROCESS_KEYS: dict[tuple, str] = {}
_PROCESS_CASES: list[str] = []


def plan_keys(config: ConvConfig) -> list[tuple]:
    """What cuDNN caches a plan under (and more): device, precision, layout, pass, geometry."""
    directions = DIRECTIONS if config.batch_sizes else (config.direction,)
    batches = sorted(set(config.batch_sizes)) if config.batch_sizes else [config.shape.batch]
    return [
        (config.device, config.precision, config.layout, direction, config.shape.with_batch(batch).geometry)
        for batch in batches
        for direction in directions
    ]


def claim_plan_keys(keys: Sequence[tuple], case: str, *, record_case: bool = True) -> int:
    """Register ``case``'s plan keys in this process, or raise if any ran here before.

    Returns the case's position among the cases measured in this process (0 for the first).
    """
    for key in keys:
        if key in _PROCESS_KEYS:
            raise PlanCacheReuse(
                f"{case}: {key} already ran in process {os.getpid()} (by {_PROCESS_KEYS[key]}); its cuDNN plan "
                "would be reused whatever the flags say now. Measure each flag combination in a fresh process."
            )
    for key in keys:
        _PROCESS_KEYS[key] = case
    if record_case:
        _PROCESS_CASES.append(case)
    return len(_PROCESS_CASES) - 1


# --- building the passes ------------------------------------------------------------------------


def _device(config: ConvConfig) -> torch.device:
    return require_cuda(0) if config.device == "cuda" else torch.device("cpu")


def random_tensor(size: Sequence[int], dtype: torch.dtype, layout: str, generator: torch.Generator) -> torch.Tensor:
    # Never time zeros; normal values keep every dtype far from overflow.
    device = generator.device
    tensor = torch.randn(tuple(size), generator=generator, device=device, dtype=torch.float32).to(dtype)
    return tensor.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else tensor


@dataclass
class ConvInputs:
    """Seeded random inputs of one shape: input, weight and the gradient arriving at the output."""

    shape: ConvShape
    x: torch.Tensor
    w: torch.Tensor
    grad_out: torch.Tensor

    def forward(self, x: torch.Tensor | None = None, w: torch.Tensor | None = None) -> torch.Tensor:
        shape = self.shape
        x, w = (self.x, self.w) if x is None else (x, w)
        return F.conv2d(x, w, None, [shape.stride] * 2, [shape.padding] * 2, 1, shape.groups)

    def backward(self, mask: Sequence[bool], tensors: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, ...]:
        """``aten.convolution_backward`` with an output mask: only the gradients asked for are computed."""
        shape = self.shape
        grad_out, x, w = tensors or (self.grad_out, self.x, self.w)
        stride, padding = [shape.stride] * 2, [shape.padding] * 2
        return torch.ops.aten.convolution_backward(
            grad_out, x, w, None, stride, padding, [1, 1], False, [0, 0], shape.groups, list(mask)
        )

    def as_float64(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.grad_out.double(), self.x.double(), self.w.double()


def conv_inputs(shape: ConvShape, dtype: str, layout: str, device: torch.device) -> ConvInputs:
    generator = torch.Generator(device=device).manual_seed(zlib.crc32(repr(shape.geometry).encode()))
    kind = DTYPES[dtype]
    sizes = (shape.input_size, shape.weight_size, shape.output_size)
    x, w, grad_out = (random_tensor(size, kind, layout, generator) for size in sizes)
    return ConvInputs(shape, x, w, grad_out)


@dataclass
class ConvPass:
    """One pass ready to call: ``run`` is what is timed, ``reference`` the same pass in float64."""

    run: Callable[[], torch.Tensor]
    reference: Callable[[], torch.Tensor]


def conv_pass(shape: ConvShape, direction: str, dtype: str, layout: str, device: torch.device) -> ConvPass:
    """The call computing ``direction`` of ``shape`` on fresh inputs, and its float64 reference.

    Backward-data computes only the input gradient and backward-weight only the weight gradient.
    """
    inputs = conv_inputs(shape, dtype, layout, device)
    if direction == "forward":
        return ConvPass(inputs.forward, lambda: inputs.forward(inputs.x.double(), inputs.w.double()))
    index = DIRECTIONS.index(direction) - 1  # 0: grad input, 1: grad weight
    mask = (index == 0, index == 1, False)
    return ConvPass(lambda: inputs.backward(mask)[index], lambda: inputs.backward(mask, inputs.as_float64())[index])


def pass_bytes(shape: ConvShape, dtype: str) -> int:
    """Device memory a pass needs: inputs, output and their float64 copies for the check."""
    elements = sum(torch.Size(size).numel() for size in (shape.input_size, shape.weight_size, shape.output_size))
    return elements * (2 * DTYPES[dtype].itemsize + 3 * 8)


# --- what is measured --------------------------------------------------------------------------


def first_call(run: Callable[[], torch.Tensor], device: torch.device) -> tuple[float, float | None, torch.Tensor]:
    """Wall seconds of the first call (autotuning included), peak bytes allocated during it (CUDA), its result."""
    synchronize(device)
    base = None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    start = time.perf_counter()
    result = run()
    synchronize(device)
    seconds = time.perf_counter() - start
    peak = float(torch.cuda.max_memory_allocated(device) - base) if base is not None else None
    return seconds, peak, result


def bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same bits, not just equal values (+0.0 and -0.0 differ here, as do NaN payloads)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    as_int = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return torch.equal(a.contiguous().view(as_int), b.contiguous().view(as_int))


def compare_repeats(reference: torch.Tensor, repeats: Sequence[torch.Tensor]) -> tuple[bool, float]:
    """(all repeats bit-identical to ``reference``, largest absolute difference)."""
    identical = all(bitwise_equal(reference, repeat) for repeat in repeats)
    diffs = [float((repeat.double() - reference.double()).abs().max()) for repeat in repeats]
    return identical, max(diffs, default=0.0)


def reproducibility(
    run: Callable[[], torch.Tensor], reference: torch.Tensor, device: torch.device, repeats: int = REPEATS
) -> tuple[bool, float]:
    """Call ``run`` again ``repeats`` times on the same inputs and compare with ``reference``."""
    results = [run() for _ in range(repeats)]
    synchronize(device)
    return compare_repeats(reference, results)


def relative_error(result: torch.Tensor, reference: torch.Tensor) -> float:
    scale = float(reference.abs().max())
    return float((result.double() - reference).abs().max()) / (scale or 1.0)


def check_result(result: torch.Tensor, reference: torch.Tensor, precision: str, what: str) -> float:
    """The relative error against float64; VerificationError beyond the precision's tolerance."""
    error = relative_error(result, reference)
    if not error <= TOLERANCE[precision]:
        raise VerificationError(f"{what}: relative error {error:.3g} vs float64 exceeds {TOLERANCE[precision]:g}")
    return error


def record_kernels(configs: Sequence[ConvConfig], device: torch.device) -> dict[str, list[str]]:
    """Names of the CUDA kernels one call of each static case launches, by case id.

    One torch.profiler session for all the cases, run after every case of the worker was timed:
    CUPTI, once started, may stay active in the process and slow whatever is timed after it. Each
    case runs under its own flags (its plan is cached by now, so these are the kernels that were
    timed) inside a ``record_function`` range named after it; a kernel belongs to the case whose
    range holds the op that launched it (``kernels_by_launch``), never to a time window.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    static = [config for config in configs if not config.batch_sizes]
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for config in static:
            one = conv_pass(config.shape, config.direction, config.dtype, config.layout, device)
            synchronize(device)
            with applied_flags(config.flags, config.allow_tf32), record_function(config.id):
                one.run()
                synchronize(device)
            del one
    return kernels_by_launch(prof.events(), [config.id for config in static])


def kernels_by_launch(events: Sequence[Any], labels: Sequence[str]) -> dict[str, list[str]]:
    """Profiler events -> the sorted names of the CUDA kernels launched from inside each labelled CPU range.

    torch links every kernel to the CPU op that launched it by CUPTI's correlation id (the op's
    ``FunctionEvent.kernels``); the op belongs to the range that encloses it on the host (its
    ``cpu_parent`` chain, host timestamps on one thread). Kineto may drop or shift a kernel's GPU
    timestamps in a long-lived process (pytorch issues 192021, 175790): matching by correlation
    does not read them.
    """
    cpu = torch.autograd.DeviceType.CPU
    wanted = set(labels)
    found: dict[str, set[str]] = {label: set() for label in labels}
    for event in events:
        if event.device_type != cpu or getattr(event, "is_legacy", False):
            continue
        names = {kernel.name for kernel in getattr(event, "kernels", ()) or ()} - wanted
        if names and (label := _enclosing_range(event, wanted)) is not None:
            found[label] |= names
    return {label: sorted(names) for label, names in found.items()}


def _enclosing_range(event: Any, labels: set[str]) -> str | None:
    while event is not None:
        if event.name in labels:
            return event.name
        event = getattr(event, "cpu_parent", None)
    return None


def kernel_info(kernels: list[str] | None, error: str | None = None) -> dict[str, Scalar]:
    """What a CUDA case stores of its kernels; ``kernels_check`` says whether any was recorded."""
    names = kernels or []
    check = "ok" if names else f"failed: no CUDA kernel recorded{f' ({error})' if error else ''}"
    return {"kernels": "; ".join(names), "kernel_count": len(names), "kernels_check": check}


def check_kernels(result: CaseResult) -> CaseResult:
    """Fail a CUDA case whose kernels were not recorded (its figures are stored all the same)."""
    check = result.info.get("kernels_check")
    if check is not None and check != "ok":
        raise VerificationError(f"{result.case}: {check}")
    return result


def conv_backend(shape: ConvShape, dtype: str, layout: str, device: torch.device) -> str:
    """Which ATen convolution backend PyTorch picks for these inputs (Cudnn, Mkldnn, Slow2d...)."""
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None:
        return "unknown"
    # Uninitialised tensors: the choice reads sizes, dtype, layout and device, never values.
    x = torch.empty(shape.input_size, dtype=DTYPES[dtype], device=device)
    w = torch.empty(shape.weight_size, dtype=DTYPES[dtype], device=device)
    if layout == "channels_last":
        x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    stride, padding = [shape.stride] * 2, [shape.padding] * 2
    backend = select(x, w, None, stride, padding, [1, 1], False, [0, 0], shape.groups)
    return str(getattr(backend, "name", backend))


def onednn_version() -> str | None:
    found = re.search(r"MKL-DNN v([\d.]+)", torch.__config__.show())
    return found.group(1) if found else None


def _context(config: ConvConfig, device: torch.device, case_index: int) -> dict[str, Scalar]:
    backend = conv_backend(config.shape, config.dtype, config.layout, device)
    info: dict[str, Scalar] = {
        "flags_in_effect": flags_in_effect(),
        "conv_backend": backend,
        "cudnn_applies": device.type == "cuda" and backend.startswith("Cudnn"),
        "worker_pid": os.getpid(),
        "parent_pid": os.getppid(),
        "process_case_index": case_index,
        "threads": torch.get_num_threads(),
    }
    if device.type == "cpu":
        info["note"] = CPU_NOTE.format(backend=backend)
        info["onednn_version"] = onednn_version() or "unknown"
    elif config.dtype != "float32":
        info["note"] = "allow_tf32 applies to float32 only; recorded at its default"
    return info


def measure(config: ConvConfig) -> CaseResult:
    """Measure one case in this process, under its flags, restoring the flags afterwards.

    Call it in a process that has not run this convolution (``conv_worker`` does); a second
    call for the same plan key in one process raises ``PlanCacheReuse``.
    """
    device = _device(config)
    shape = config.shape.with_batch(config.batch)
    require_memory(device, pass_bytes(shape, config.dtype) * (3 if config.batch_sizes else 1), config.id)
    case_index = claim_plan_keys(plan_keys(config), config.id)
    threads = config.threads if device.type == "cpu" else None
    with applied_flags(config.flags, config.allow_tf32), cpu_threads(threads):
        info = _context(config, device, case_index)
        if config.batch_sizes:
            return _measure_dynamic(config, device, info)
        return _measure_static(config, device, info)


def _measure_static(config: ConvConfig, device: torch.device, info: dict[str, Scalar]) -> CaseResult:
    shape = config.shape
    one = conv_pass(shape, config.direction, config.dtype, config.layout, device)
    first_s, peak, first_result = first_call(one.run, device)
    timer = Timer(one.run, device=device, warmup=config.warmup, samples=config.samples)
    if device.type == "cpu":
        timer.min_sample_s = CPU_MIN_SAMPLE_S
    measurement = timer.measure()
    if device.type == "cuda":
        info.update(timer.report.info())
    identical, max_diff = reproducibility(one.run, first_result, device)
    # The float64 check runs without autotuning: it is untimed and float64 plans never mix with ours.
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=False):
        reference = one.reference()
    error = check_result(first_result, reference, config.precision, config.id)
    metrics = {
        "tflops": conv_flops(shape) / measurement.median / 1e12,
        "gflop": conv_flops(shape) / 1e9,
        "first_call_s": first_s,
        "first_call_over_median": first_s / measurement.median,
        "max_abs_diff": max_diff,
        "rel_error_vs_fp64": error,
    }
    if peak is not None:
        metrics["first_call_peak_bytes"] = peak
    info["deterministic_output"] = identical
    return CaseResult(SUITE, config.params(), measurement, metrics, info)


def _measure_dynamic(config: ConvConfig, device: torch.device, info: dict[str, Scalar]) -> CaseResult:
    """A training step (forward, backward to input and weight) per batch size, in the given order.

    Each step is timed alone, wall clock after synchronising, since autotuning is host work too.
    """
    steps = {}
    for batch in sorted(set(config.batch_sizes)):
        steps[batch] = _training_step(conv_inputs(config.shape.with_batch(batch), config.dtype, config.layout, device))
    seconds, seen = [], set()
    first_pass = 0.0
    for batch in config.batch_sizes:
        synchronize(device)
        start = time.perf_counter()
        steps[batch]()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
        if batch not in seen:
            first_pass += seconds[-1]
            seen.add(batch)
    total = sum(seconds)
    flops = sum(3 * conv_flops(config.shape.with_batch(batch)) for batch in config.batch_sizes)
    measurement = Measurement(tuple(seconds), ops_per_sample=1, clock="host-perf_counter-synchronized")
    metrics = {
        "total_s": total,
        "first_pass_s": first_pass,
        "repeat_pass_s": total - first_pass,
        "first_call_s": seconds[0],
        "dynamic_tflops": flops / total / 1e12,  # autotuning and per-step syncs included: not ``tflops``
    }
    info["batch_sequence"] = ",".join(str(batch) for batch in config.batch_sizes)
    return CaseResult(SUITE, config.params(), measurement, metrics, info)


def _training_step(inputs: ConvInputs) -> Callable[[], None]:
    def step() -> None:
        inputs.forward()
        inputs.backward((True, True, False))  # both gradients, as autograd asks for them

    return step


# --- priming and the grid ----------------------------------------------------------------------

PRIMING_SHAPE = ConvShape("priming", 1, 8, 8, 8, 8, 3, 3, 1, 1)


def prime(device_name: str, variants: Sequence[tuple[str, str]]) -> None:
    """Load the convolution libraries (cuDNN handle, oneDNN JIT) on a tiny shape outside the grid,
    so the first measured case's first call does not carry the process's one-time start-up."""
    device = require_cuda(0) if device_name == "cuda" else torch.device("cpu")
    if device.type == "cpu":
        settle_host_allocator()
    for dtype, layout in variants:
        for direction in DIRECTIONS:
            key = (device_name, f"priming-{dtype}", layout, direction, PRIMING_SHAPE.geometry)
            if key not in _PROCESS_KEYS:
                claim_plan_keys([key], f"priming {dtype} {layout} {direction}", record_case=False)
                conv_pass(PRIMING_SHAPE, direction, dtype, layout, device).run()
    synchronize(device)


# glibc serves large blocks with mmap until a large block is freed, which raises its threshold to
# that block's size (a block of 32 MiB or more leaves it alone); until then every conv output is
# fresh pages and pays page faults on each call: 64->64 3x3 at 56x56 took 2.1 ms in such a process
# and 1.5 ms after freeing 4-28 MiB. A long-running program is in the second state, so every CPU
# worker is put there first.
_ALLOCATOR_SETTLE_BYTES = 16 << 20


def settle_host_allocator() -> None:
    """Allocate and free one large block so later allocations reuse the heap (see above)."""
    block = torch.empty(_ALLOCATOR_SETTLE_BYTES, dtype=torch.uint8)
    block[:: 1 << 12] = 1  # touch every page: a block never touched may never be mapped
    del block


def variants(profile: str, device: str) -> list[tuple[str, bool, str]]:
    """(dtype, allow_tf32, layout) of a profile on a device.

    CPU: float32 in both layouts (TF32 and cuDNN do not exist there). CUDA quick: float32 with
    TF32 allowed (PyTorch's default) and not, NCHW, and float16 channels_last (mixed precision);
    CUDA full: float32 (TF32 on, off), float16, bfloat16, each in both layouts.
    """
    if device == "cpu":
        return [("float32", True, layout) for layout in LAYOUTS]
    if profile == "quick":
        return [("float32", True, "nchw"), ("float32", False, "nchw"), ("float16", True, "channels_last")]
    kinds = [("float32", True), ("float32", False), ("float16", True), ("bfloat16", True)]
    return [(dtype, tf32, layout) for dtype, tf32 in kinds for layout in LAYOUTS]


# One thread: the CPU cases are the control (cuDNN flags do not apply there), and a multi-threaded
# oneDNN convolution on a shared host swings 10-30x whenever another process takes a core
# (OpenMP threads wait for the descheduled one), one thread at most about 2x.
CPU_THREADS = 1
# Host-clock samples of at least 10 ms (not the Timer's 2 ms): 15 of them span ~0.15 s, so one burst
# of someone else's work on a shared host moves a few samples, not the median.
CPU_MIN_SAMPLE_S = 10e-3
DYNAMIC_SHAPES = ("resnet50_64to64_3x3_56", "deepbench_1to32_5x20s2_161x700")


def batch_sequence(device: str, static_batch: int) -> tuple[int, ...]:
    """Distinct batch sizes (never the static one: that plan is cached already), ascending, then
    twice more in a fixed shuffled order, as a data loader with variable batches would feed them."""
    candidates = (2, 3, 4) if device == "cpu" else (8, 16, 24, 32, 40, 48, 56, 64)
    sizes = [size for size in candidates if size != static_batch][:7]
    shuffled = sizes[1::2] + sizes[0::2]
    return tuple(sizes + shuffled + shuffled[::-1])


def configs(profile: str) -> list[ConvConfig]:
    """Every conv case of a profile, grouped by device and flag combination (one worker each).

    Static cases: every shape x variant x direction. Dynamic: the DYNAMIC_SHAPES (all quick
    shapes in the full profile) in the device's first variant.
    """
    check_profile(profile)
    cases = []
    for device in DEVICES:
        shapes = shape_set(profile, device)
        dynamic = shape_set("quick", device) if profile == "full" else [s for s in shapes if s.name in DYNAMIC_SHAPES]
        kinds = variants(profile, device)
        threads = CPU_THREADS if device == "cpu" else None
        for flags in FLAG_COMBOS:
            for shape in shapes:
                for dtype, tf32, layout in kinds:
                    for direction in DIRECTIONS:
                        cases.append(ConvConfig(shape, device, dtype, layout, direction, flags, tf32, threads=threads))
            dtype, tf32, layout = kinds[0]
            for shape in dynamic:
                sizes = batch_sequence(device, shape.batch)
                cases.append(ConvConfig(shape, device, dtype, layout, TRAINING_STEP, flags, tf32, sizes, threads))
    return cases
