import pytest
import torch
import torch.nn.functional as F

from gpubench.suites.conv.shapes import (
    DEEPBENCH_TRAINING,
    ConvShape,
    conv_flops,
    deepbench_shape,
    resnet50_shapes,
    shape_set,
)


def im2col_flops(shape: ConvShape) -> int:
    """Independent count: conv = (N*L) x (C/g*R*S) @ (C/g*R*S) x K per group, L from F.unfold."""
    x = torch.empty(shape.input_size, device="meta")
    columns = F.unfold(x, (shape.kernel_h, shape.kernel_w), padding=shape.padding, stride=shape.stride)
    n, rows, positions = columns.shape  # rows = C*R*S over all groups
    per_group_rows = rows // shape.groups
    return 2 * n * positions * per_group_rows * shape.out_channels


SHAPES = [
    ConvShape("stem", 1, 3, 64, 224, 224, 7, 7, 2, 3),
    ConvShape("deepspeech", 16, 1, 32, 161, 700, 5, 20, 2, 0),
    ConvShape("1x1", 4, 64, 256, 56, 56, 1, 1),
    ConvShape("grouped", 2, 32, 64, 15, 17, 3, 3, 2, 1, groups=4),
    ConvShape("odd", 3, 5, 7, 9, 11, 4, 2, 3, 2),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_flops_match_an_independent_im2col_count(shape):
    assert conv_flops(shape) == im2col_flops(shape)


def test_flops_of_named_layers():
    # ResNet-50 stem at batch 1: 112x112 outputs x 64 filters x 3*7*7 taps x 2.
    assert conv_flops(SHAPES[0]) == 2 * 64 * 147 * 112 * 112 == 236_027_904
    # DeepSpeech layer 1 at N=16: 79x341 outputs x 32 filters x 5*20 taps x 2.
    assert conv_flops(SHAPES[1]) == 2 * 16 * 32 * 100 * 79 * 341 == 2_758_553_600


@pytest.mark.parametrize("shape", SHAPES + shape_set("full", "cuda"), ids=lambda s: s.name)
def test_output_size_matches_torch(shape):
    x = torch.empty(shape.input_size, device="meta")
    w = torch.empty(shape.weight_size, device="meta")
    out = F.conv2d(x, w, stride=shape.stride, padding=shape.padding, groups=shape.groups)
    assert tuple(out.shape) == shape.output_size


def test_resnet50_has_23_distinct_convolutions_that_chain():
    shapes = resnet50_shapes(batch=8)
    assert len(shapes) == 23
    assert len({s.geometry for s in shapes}) == 23
    assert shapes[0].geometry == (8, 3, 64, 224, 224, 7, 7, 2, 3, 1)
    assert shapes[-1].name == "resnet50_512to512_3x3_7"
    # every stage ends at 2048 channels, 7x7
    assert any(s.out_channels == 2048 and s.out_height == 7 for s in shapes)
    assert {s.kernel_h for s in shapes} == {7, 3, 1}


def test_deepbench_training_set_parses_in_its_field_order():
    assert len(DEEPBENCH_TRAINING) == 94
    first = deepbench_shape(DEEPBENCH_TRAINING[0])  # (w=700, h=161, c=1, n=4, k=32, s=20, r=5, ...)
    assert (first.batch, first.in_channels, first.out_channels) == (4, 1, 32)
    assert (first.height, first.width, first.kernel_h, first.kernel_w, first.stride) == (161, 700, 5, 20, 2)
    with pytest.raises(ValueError, match="equal padding and stride"):
        deepbench_shape((8, 8, 1, 1, 1, 3, 3, 1, 0, 1, 1))


def test_quick_set_holds_the_issue_shapes():
    quick = {s.name: s for s in shape_set("quick", "cuda")}
    expected = {
        "resnet50_3to64_7x7s2_224": (3, 64, 224, 224, 7, 7, 2, 3),
        "resnet50_64to64_3x3_56": (64, 64, 56, 56, 3, 3, 1, 1),
        "resnet50_64to256_1x1_56": (64, 256, 56, 56, 1, 1, 1, 0),
        "resnet50_256to256_3x3_14": (256, 256, 14, 14, 3, 3, 1, 1),
        "resnet50_512to512_3x3_7": (512, 512, 7, 7, 3, 3, 1, 1),
        "deepbench_1to32_5x20s2_161x700": (1, 32, 161, 700, 5, 20, 2, 0),
    }
    assert set(quick) == set(expected)
    for name, geometry in expected.items():
        assert quick[name].geometry[1:9] == geometry


def test_cpu_sets_run_at_batch_one_without_repeats():
    for profile in ("quick", "full"):
        shapes = shape_set(profile, "cpu")
        assert {s.batch for s in shapes} == {1}
        assert len({s.geometry for s in shapes}) == len(shapes)
    assert len(shape_set("full", "cpu")) < len(shape_set("full", "cuda"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch": 0}, "positive"),
        ({"groups": 3}, "divisible"),
        ({"kernel_h": 30}, "does not fit"),
        ({"padding": -1}, "non-negative"),
    ],
)
def test_shape_rejects_bad_input(kwargs, message):
    base = {"name": "x", "batch": 1, "in_channels": 4, "out_channels": 4, "height": 8, "width": 8}
    base.update({"kernel_h": 3, "kernel_w": 3})
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ConvShape(**base)
