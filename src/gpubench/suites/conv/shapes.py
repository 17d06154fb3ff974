"""Convolution shapes: the quick set, every distinct ResNet-50 convolution, DeepBench's training set.

A shape is one 2-D convolution without bias or dilation: input N x C x H x W, K filters of
C/groups x R x S, one stride and one padding for both spatial axes (true of every shape here).
FLOPs count a multiply and an add as two: ``2 * N * K * (C/groups) * R * S * P * Q`` for the
forward pass; backward-data and backward-weight do the same number of multiply-adds each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ConvShape:
    """One convolution; ``name`` says which layer (without the batch, which is a field of its own)."""

    name: str
    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel_h: int
    kernel_w: int
    stride: int = 1
    padding: int = 0
    groups: int = 1

    def __post_init__(self) -> None:
        sizes = (self.batch, self.in_channels, self.out_channels, self.height, self.width, self.kernel_h, self.kernel_w)
        if min(sizes) < 1 or self.stride < 1 or self.padding < 0 or self.groups < 1:
            raise ValueError(f"{self.name}: sizes, stride and groups must be positive, padding non-negative")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{self.name}: channels {self.in_channels}->{self.out_channels} not divisible by groups")
        if self.out_height < 1 or self.out_width < 1:
            raise ValueError(f"{self.name}: a {self.kernel_h}x{self.kernel_w} kernel does not fit the padded input")

    @property
    def out_height(self) -> int:
        return (self.height + 2 * self.padding - self.kernel_h) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.width + 2 * self.padding - self.kernel_w) // self.stride + 1

    @property
    def input_size(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_size(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, self.kernel_h, self.kernel_w)

    @property
    def output_size(self) -> tuple[int, int, int, int]:
        return (self.batch, self.out_channels, self.out_height, self.out_width)

    @property
    def geometry(self) -> tuple[int, ...]:
        """Everything but the name: two shapes with the same geometry are the same convolution."""
        return (
            self.batch,
            self.in_channels,
            self.out_channels,
            self.height,
            self.width,
            self.kernel_h,
            self.kernel_w,
            self.stride,
            self.padding,
            self.groups,
        )

    def with_batch(self, batch: int) -> ConvShape:
        return replace(self, batch=batch)


def conv_flops(shape: ConvShape) -> int:
    """Multiply-adds x 2 of one pass (forward, backward-data or backward-weight): 2*N*K*(C/g)*R*S*P*Q."""
    per_output = (shape.in_channels // shape.groups) * shape.kernel_h * shape.kernel_w
    outputs = shape.batch * shape.out_channels * shape.out_height * shape.out_width
    return 2 * outputs * per_output


def _resnet_name(c: int, k: int, r: int, stride: int, h: int) -> str:
    return f"resnet50_{c}to{k}_{r}x{r}{f's{stride}' if stride > 1 else ''}_{h}"


def resnet50_shapes(batch: int) -> list[ConvShape]:
    """Every distinct convolution of torchvision's ResNet-50 (v1.5: stride on the 3x3) at 224x224.

    Walked from the architecture rather than typed in: stem, then four stages of bottlenecks
    (3, 4, 6, 3 blocks; widths 64..512, expansion 4); the first block of stages 2-4 strides by 2
    in its 3x3 and in its 1x1 downsample.
    """
    shapes: dict[tuple[int, ...], ConvShape] = {}

    def add(c: int, k: int, r: int, stride: int, h: int) -> None:
        shape = ConvShape(_resnet_name(c, k, r, stride, h), batch, c, k, h, h, r, r, stride, r // 2)
        shapes.setdefault(shape.geometry, shape)

    add(3, 64, 7, 2, 224)
    channels, size = 64, 56  # after the stem and the 3x3/2 max-pool
    for stage, (blocks, width) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        out = width * 4
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 0 else 1
            add(channels, width, 1, 1, size)
            add(width, width, 3, stride, size)
            after = size // stride
            add(width, out, 1, 1, after)
            if block == 0:
                add(channels, out, 1, stride, size)
            channels, size = out, after
    return list(shapes.values())


# Baidu DeepBench, code/kernels/conv_problems.h, ``training_set``, in its own order and field order:
# (w, h, c, n, k, filter_w (S), filter_h (R), pad_w, pad_h, wstride, hstride).
DEEPBENCH_TRAINING = (
    (700, 161, 1, 4, 32, 20, 5, 0, 0, 2, 2), (700, 161, 1, 8, 32, 20, 5, 0, 0, 2, 2),
    (700, 161, 1, 16, 32, 20, 5, 0, 0, 2, 2), (700, 161, 1, 32, 32, 20, 5, 0, 0, 2, 2),
    (341, 79, 32, 4, 32, 10, 5, 0, 0, 2, 2), (341, 79, 32, 8, 32, 10, 5, 0, 0, 2, 2),
    (341, 79, 32, 16, 32, 10, 5, 0, 0, 2, 2), (341, 79, 32, 32, 32, 10, 5, 0, 0, 2, 2),
    (480, 48, 1, 16, 16, 3, 3, 1, 1, 1, 1), (240, 24, 16, 16, 32, 3, 3, 1, 1, 1, 1),
    (120, 12, 32, 16, 64, 3, 3, 1, 1, 1, 1), (60, 6, 64, 16, 128, 3, 3, 1, 1, 1, 1),
    (108, 108, 3, 8, 64, 3, 3, 1, 1, 2, 2), (54, 54, 64, 8, 64, 3, 3, 1, 1, 1, 1),
    (27, 27, 128, 8, 128, 3, 3, 1, 1, 1, 1), (14, 14, 128, 8, 256, 3, 3, 1, 1, 1, 1),
    (7, 7, 256, 8, 512, 3, 3, 1, 1, 1, 1), (224, 224, 3, 8, 64, 3, 3, 1, 1, 1, 1),
    (112, 112, 64, 8, 128, 3, 3, 1, 1, 1, 1), (56, 56, 128, 8, 256, 3, 3, 1, 1, 1, 1),
    (28, 28, 256, 8, 512, 3, 3, 1, 1, 1, 1), (14, 14, 512, 8, 512, 3, 3, 1, 1, 1, 1),
    (7, 7, 512, 8, 512, 3, 3, 1, 1, 1, 1), (224, 224, 3, 16, 64, 3, 3, 1, 1, 1, 1),
    (112, 112, 64, 16, 128, 3, 3, 1, 1, 1, 1), (56, 56, 128, 16, 256, 3, 3, 1, 1, 1, 1),
    (28, 28, 256, 16, 512, 3, 3, 1, 1, 1, 1), (14, 14, 512, 16, 512, 3, 3, 1, 1, 1, 1),
    (7, 7, 512, 16, 512, 3, 3, 1, 1, 1, 1), (224, 224, 3, 16, 64, 7, 7, 3, 3, 2, 2),
    (28, 28, 192, 16, 32, 5, 5, 2, 2, 1, 1), (28, 28, 192, 16, 64, 1, 1, 0, 0, 1, 1),
    (14, 14, 512, 16, 48, 5, 5, 2, 2, 1, 1), (14, 14, 512, 16, 192, 1, 1, 0, 0, 1, 1),
    (7, 7, 832, 16, 256, 1, 1, 0, 0, 1, 1), (7, 7, 832, 16, 128, 5, 5, 2, 2, 1, 1),
    (56, 56, 64, 8, 64, 3, 3, 1, 1, 1, 1), (56, 56, 64, 8, 256, 1, 1, 0, 0, 2, 2),
    (28, 28, 128, 8, 128, 3, 3, 1, 1, 1, 1), (28, 28, 128, 8, 512, 1, 1, 0, 0, 2, 2),
    (14, 14, 256, 8, 256, 1, 1, 0, 0, 1, 1), (14, 14, 256, 8, 256, 3, 3, 1, 1, 1, 1),
    (14, 14, 256, 8, 1024, 1, 1, 0, 0, 2, 2), (7, 7, 512, 8, 512, 1, 1, 0, 0, 1, 1),
    (7, 7, 2048, 8, 512, 1, 1, 3, 3, 2, 2), (56, 56, 64, 16, 64, 3, 3, 1, 1, 1, 1),
    (56, 56, 64, 16, 256, 1, 1, 0, 0, 2, 2), (28, 28, 128, 16, 128, 3, 3, 1, 1, 1, 1),
    (28, 28, 128, 16, 512, 1, 1, 0, 0, 2, 2), (14, 14, 256, 16, 256, 1, 1, 0, 0, 1, 1),
    (14, 14, 256, 16, 256, 3, 3, 1, 1, 1, 1), (14, 14, 256, 16, 1024, 1, 1, 0, 0, 2, 2),
    (7, 7, 512, 16, 512, 1, 1, 0, 0, 1, 1), (7, 7, 2048, 16, 512, 1, 1, 3, 3, 2, 2),
    (700, 161, 1, 16, 64, 5, 5, 1, 1, 2, 2), (350, 80, 64, 16, 64, 3, 3, 1, 1, 1, 1),
    (350, 80, 64, 16, 128, 5, 5, 1, 1, 2, 2), (175, 40, 128, 16, 128, 3, 3, 1, 1, 1, 1),
    (175, 40, 128, 16, 256, 5, 5, 1, 1, 2, 2), (84, 20, 256, 16, 256, 3, 3, 1, 1, 1, 1),
    (84, 20, 256, 16, 512, 5, 5, 1, 1, 2, 2), (42, 10, 512, 16, 512, 3, 3, 1, 1, 1, 1),
    (112, 112, 64, 8, 64, 1, 1, 0, 0, 1, 1), (56, 56, 64, 8, 256, 1, 1, 0, 0, 1, 1),
    (56, 56, 256, 8, 64, 1, 1, 0, 0, 1, 1), (56, 56, 256, 8, 128, 1, 1, 0, 0, 2, 2),
    (28, 28, 128, 8, 512, 1, 1, 0, 0, 1, 1), (28, 28, 512, 8, 128, 1, 1, 0, 0, 1, 1),
    (28, 28, 512, 8, 256, 1, 1, 0, 0, 2, 2), (14, 14, 256, 8, 1024, 1, 1, 0, 0, 1, 1),
    (28, 28, 512, 8, 1024, 1, 1, 0, 0, 2, 2), (14, 14, 1024, 8, 256, 1, 1, 0, 0, 1, 1),
    (14, 14, 256, 8, 1024, 1, 1, 0, 0, 1, 1), (14, 14, 1024, 8, 512, 1, 1, 0, 0, 2, 2),
    (7, 7, 512, 8, 512, 3, 3, 1, 1, 1, 1), (7, 7, 512, 8, 2048, 1, 1, 0, 0, 1, 1),
    (14, 14, 1024, 8, 2048, 1, 1, 0, 0, 2, 2), (7, 7, 2048, 8, 512, 1, 1, 0, 0, 1, 1),
    (112, 112, 64, 16, 64, 1, 1, 0, 0, 1, 1), (56, 56, 64, 16, 256, 1, 1, 0, 0, 1, 1),
    (56, 56, 256, 16, 64, 1, 1, 0, 0, 1, 1), (56, 56, 256, 16, 128, 1, 1, 0, 0, 2, 2),
    (28, 28, 128, 16, 512, 1, 1, 0, 0, 1, 1), (28, 28, 512, 16, 128, 1, 1, 0, 0, 1, 1),
    (28, 28, 512, 16, 256, 1, 1, 0, 0, 2, 2), (14, 14, 256, 16, 1024, 1, 1, 0, 0, 1, 1),
    (28, 28, 512, 16, 1024, 1, 1, 0, 0, 2, 2), (14, 14, 1024, 16, 256, 1, 1, 0, 0, 1, 1),
    (14, 14, 256, 16, 1024, 1, 1, 0, 0, 1, 1), (14, 14, 1024, 16, 512, 1, 1, 0, 0, 2, 2),
    (7, 7, 512, 16, 512, 3, 3, 1, 1, 1, 1), (7, 7, 512, 16, 2048, 1, 1, 0, 0, 1, 1),
    (14, 14, 1024, 16, 2048, 1, 1, 0, 0, 2, 2), (7, 7, 2048, 16, 512, 1, 1, 0, 0, 1, 1),
)  # fmt: skip


def deepbench_shape(row: tuple[int, ...]) -> ConvShape:
    w, h, c, n, k, s, r, pad_w, pad_h, stride_w, stride_h = row
    if pad_w != pad_h or stride_w != stride_h:
        raise ValueError(f"DeepBench row {row}: only equal padding and stride on both axes are supported")
    name = f"deepbench_{c}to{k}_{r}x{s}{f's{stride_h}' if stride_h > 1 else ''}_{h}x{w}"
    return ConvShape(name, n, c, k, h, w, r, s, stride_h, pad_h)


def deepbench_training_shapes() -> list[ConvShape]:
    return [deepbench_shape(row) for row in DEEPBENCH_TRAINING]


# ResNet-50 layers in the quick set run at this batch on a GPU; DeepBench shapes keep their own N.
GPU_RESNET_BATCH = 32
# On the CPU every shape runs at batch 1, so the quick grid fits in CI time on two cores.
CPU_BATCH = 1
QUICK_RESNET = (
    "resnet50_3to64_7x7s2_224",  # the stem
    "resnet50_64to64_3x3_56",
    "resnet50_64to256_1x1_56",
    "resnet50_256to256_3x3_14",
    "resnet50_512to512_3x3_7",
)
QUICK_DEEPSPEECH = (700, 161, 1, 16, 32, 20, 5, 0, 0, 2, 2)  # DeepSpeech's first layer, N=16


def shape_set(profile: str, device: str) -> list[ConvShape]:
    """The shapes of a profile, at the batch sizes used on ``device`` ("cpu" or "cuda"), without repeats."""
    resnet = {shape.name: shape for shape in resnet50_shapes(GPU_RESNET_BATCH)}
    if profile == "quick":
        shapes = [resnet[name] for name in QUICK_RESNET] + [deepbench_shape(QUICK_DEEPSPEECH)]
    elif profile == "full":
        shapes = list(resnet.values()) + deepbench_training_shapes()
    else:
        raise ValueError(f"unknown profile {profile!r}")
    if device == "cpu":
        shapes = [shape.with_batch(CPU_BATCH) for shape in shapes]
    unique: dict[tuple[int, ...], ConvShape] = {}
    for shape in shapes:  # DeepBench repeats itself and overlaps ResNet-50: keep the first name
        unique.setdefault(shape.geometry, shape)
    return list(unique.values())
