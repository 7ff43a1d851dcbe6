"""Built-in networks against published figures (tests/reference/, copied from the project's references); the
torchvision models are compared in test_torchvision.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cnncalc.load import load
from cnncalc.propagate import propagate

REFERENCE = Path(__file__).parent / "reference"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"


def rows(name: str) -> list[dict]:
    with open(REFERENCE / name, newline="") as handle:
        return list(csv.DictReader(handle))


def shape(text: str) -> tuple:
    return tuple(int(part) for part in text.split("x"))


# built-in, --set aux_logits, params, MACs of the main output, auxiliary outputs: the published figures of
# torchvision.csv (its notes give the other convention's params). The heads' MACs by hand (pooling counts none):
# googlenet's 1x1 conv at 4x4 (512 or 528 in, 128 out) + fc1 2048x1024 + fc2 1024x1000:
#   512*128*16 + 2,097,152 + 1,024,000 = 4,169,728 and 528*128*16 + 3,121,152 = 4,202,496;
# inception_v3's conv0 768->128 at 5x5 + conv1 5x5 128->768 at 1x1 + fc 768x1000:
#   2,457,600 + 2,457,600 + 768,000 = 5,683,200.
AUX_CONVENTIONS = [
    ("googlenet", None, 6_624_904, 1_498_376_192, {}),
    ("googlenet", True, 13_004_888, 1_498_376_192, {"aux1": 4_169_728, "aux2": 4_202_496}),
    ("inception_v3", None, 27_161_264, 5_713_216_096, {"AuxLogits": 5_683_200}),
    ("inception_v3", False, 23_834_568, 5_713_216_096, {}),
]


@pytest.mark.parametrize("builtin,aux_logits,params,macs,heads", AUX_CONVENTIONS)
def test_auxiliary_classifier_conventions(builtin, aux_logits, params, macs, heads):
    """googlenet is published without its two heads, inception_v3 with its one; aux_logits switches either way.
    The CSV's MACs are the main output's (the heads run in training only), the params include the heads."""
    settings = None if aux_logits is None else {"aux_logits": aux_logits}
    expected = next(row for row in rows("torchvision.csv") if row["model"] == builtin)
    report = propagate(load(builtin, settings=settings))
    assert report.input[1:] == shape(expected["input"])
    assert report.totals.params == params
    if aux_logits is None:
        assert (params, macs) == (int(expected["params"]), int(expected["macs"]))
    assert [out.aux for out in report.outputs[1:]] == list(heads)
    assert all(out.shape == (1, 1000) for out in report.outputs)
    in_heads = {name: sum(layer.macs for layer in report.layers if layer.path.startswith(name + ".")) for name in heads}
    assert in_heads == heads
    assert (report.totals.macs, report.totals.aux_macs) == (macs, sum(heads.values()))


def test_alexnet_layer_by_layer():
    report = propagate(load("alexnet"))
    by_path = {layer.path: layer for layer in report.layers}
    for row in rows("alexnet-original.csv"):
        if row["layer"] == "total":
            assert report.totals.params == int(row["params"]) == 60_965_224
            assert report.totals.macs == int(row["macs"]) == 724_406_816
            assert report.output[1:] == shape(row["output"])
            continue
        layer = by_path[row["layer"]]
        assert layer.output[1:] == shape(row["output"]), row["layer"]
        assert layer.params == int(row["params"]), row["layer"]
        assert layer.macs == int(row["macs"]), row["layer"]


def test_alexnet_variants_from_the_reference_notes():
    """Without groups: 62,378,344 params; at a 224 input conv1 gives 54x54."""
    assert propagate(load("alexnet", (3, 224, 224))).layers[0].output == (1, 96, 54, 54)
    text = (Path(__file__).parents[1] / "architectures" / "alexnet.yaml").read_text()
    assert text.count(", groups: 2") == 3
    text = text.replace(", groups: 2", "")
    from cnncalc.load import parse_network

    assert propagate(parse_network(text, "alexnet.yaml")).totals.params == 62_378_344


# stage label in resnet152-stages.csv -> path prefixes it covers
STAGES = {
    "conv1+bn1": ("conv1", "bn1"),
    "maxpool": ("maxpool",),
    "layer1 (3 bottlenecks)": ("layer1",),
    "layer2 (8 bottlenecks)": ("layer2",),
    "layer3 (36 bottlenecks)": ("layer3",),
    "layer4 (3 bottlenecks)": ("layer4",),
    "avgpool": ("avgpool",),
    "fc": ("fc",),
}


def test_resnet152_stage_by_stage():
    report = propagate(load("resnet152"))
    for row in rows("resnet152-stages.csv"):
        if row["stage"] == "total":
            assert (report.totals.params, report.totals.macs) == (int(row["params"]), int(row["macs"]))
            continue
        prefixes = STAGES[row["stage"]]
        members = [layer for layer in report.layers if layer.path.split(".")[0] in prefixes]
        assert members, row["stage"]
        assert members[-1].output[1:] == shape(row["output"]), row["stage"]
        assert sum(layer.params for layer in members) == int(row["params"]), row["stage"]
        assert sum(layer.macs for layer in members) == int(row["macs"]), row["stage"]


def test_resnet152_structure():
    """155 convolutions without bias, 155 batch norms, one linear layer; buffers are the running statistics."""
    report = propagate(load("resnet152"))
    convs = [layer for layer in report.layers if layer.kind == "conv"]
    norms = [layer for layer in report.layers if layer.kind == "batchnorm"]
    assert len(convs) == 155 and len(norms) == 155
    assert all(len(layer.weights) == 1 for layer in convs)
    assert [layer.kind for layer in report.layers].count("linear") == 1
    assert report.totals.buffers == sum(layer.params for layer in norms)


def test_lenet5_by_hand():
    """C1 6x(5x5+1)=156, C3 16x(6x25+1)=2,416, C5 120x(400+1)=48,120, F6 84x121=10,164, output 10x85=850."""
    report = propagate(load("lenet5"))
    assert [layer.params for layer in report.layers if layer.params] == [156, 2416, 48120, 10164, 850]
    assert report.totals.params == 61_706
    # MACs: 28*28*6*25 + 10*10*16*150 + 400*120 + 120*84 + 84*10
    assert report.totals.macs == 117_600 + 240_000 + 48_000 + 10_080 + 840
    assert report.output == (1, 10)


@pytest.mark.parametrize("name", ["alexnet", "resnet50"])
def test_batch_scales_operations_not_parameters(name):
    one, eight = propagate(load(name)), propagate(load(name), batch=8)
    assert eight.totals.params == one.totals.params
    assert eight.totals.macs == 8 * one.totals.macs
    assert eight.totals.flops == 8 * one.totals.flops
    assert eight.output == (8, *one.output[1:])


@pytest.mark.skipif(not SHARED.exists(), reason="the project's shared references are not beside this checkout")
@pytest.mark.parametrize("name", ["torchvision.csv", "alexnet-original.csv", "resnet152-stages.csv"])
def test_copied_references_are_current(name):
    assert (REFERENCE / name).read_text() == (SHARED / name).read_text()
