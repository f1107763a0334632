"""The evaluation network and the independent metrics: attribute labels, the network's shapes
and save/load, metric values on known inputs, and the rule that no loss, trainer or
training-time module can reach the yardstick."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.image.kid import KernelInceptionDistance

from carstudio.data.attributes import (ATTRIBUTES, PAINT_CLASSES, body_colour, paint_class, render_attributes,
                                       view_class)
from carstudio.data.parts import BODY
from carstudio.metrics.colour import part_delta_e, rgb_to_lab
from carstudio.metrics.image import sharpness_index
from carstudio.metrics.independent import density_coverage, fd_ind, kid, pooled_features, precision_recall
from carstudio.models.evalnet import CarAttributeNet
from carstudio.train.evalnet import augment, mirrored_view, EvalNetTrainOptions

REPO = Path(__file__).resolve().parents[2]
TINY = dict(resolution=32, widths=(4, 8, 8), feature_stages=2)


# --- labels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("azimuth, expected", [(0, 0), (22.4, 0), (22.6, 1), (90, 2), (180, 4), (270, 6),
                                               (337.4, 7), (337.6, 0), (359.9, 0)])
def test_view_class_is_the_nearest_sector(azimuth, expected):
    assert view_class(azimuth) == expected


def test_mirrored_view_flips_left_and_right():
    views = torch.tensor([view_class(a) for a in (0, 45, 90, 135, 180, 270)])
    assert mirrored_view(views).tolist() == [view_class(a) for a in (0, 315, 270, 225, 180, 90)]


@pytest.mark.parametrize("rgb, name", [((0.05, 0.05, 0.06), "black"), ((0.5, 0.5, 0.5), "grey"),
                                       ((0.95, 0.94, 0.93), "white"), ((0.9, 0.1, 0.1), "hue 000"),
                                       ((0.1, 0.8, 0.2), "hue 135"), ((0.1, 0.2, 0.9), "hue 225"),
                                       ((0.9, 0.8, 0.1), "hue 045")])
def test_paint_class_of_known_colours(rgb, name):
    assert PAINT_CLASSES[paint_class(np.array(rgb))] == name


def test_render_attributes_read_the_body_pixels():
    image = np.full((8, 8, 3), 255, np.uint8)
    parts = np.zeros((8, 8), np.uint8)
    image[2:6, 2:6] = (20, 40, 230)
    parts[2:6, 2:6] = BODY
    np.testing.assert_allclose(body_colour(image, parts), np.array([20, 40, 230]) / 255)
    record = {"car": "p406", "camera": {"azimuth": 95.0}, "background": {"kind": "ground"}}
    labels = render_attributes(record, image, parts)
    assert labels == {"car": ATTRIBUTES["car"].index("p406"), "view": 2, "paint": PAINT_CLASSES.index("hue 225"),
                      "background": 2}
    assert body_colour(image, np.zeros_like(parts)) is None


# --- network ---------------------------------------------------------------------------------
def test_network_heads_features_and_any_input_size():
    torch.manual_seed(0)
    net = CarAttributeNet(**TINY).eval()
    logits = net(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert {k: tuple(v.shape) for k, v in logits.items()} == {k: (2, len(v)) for k, v in ATTRIBUTES.items()}
    assert net.feature_dim == 16
    for size in ((16, 16), (64, 40), (32, 32)):  # smaller, non-square and larger inputs are rescaled
        assert net.features(torch.zeros(3, 3, *size)).shape == (3, 16)
    assert net.spatial_features(torch.zeros(1, 3, 32, 32)).shape == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="expected"):
        net.features(torch.zeros(1, 1, 32, 32))


def test_network_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    net = CarAttributeNet(**TINY).eval()
    net.save_pretrained(tmp_path / "net")
    loaded = CarAttributeNet.from_pretrained(tmp_path / "net").eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(loaded.features(x), net.features(x))
    assert loaded.config.widths == [4, 8, 8] or tuple(loaded.config.widths) == (4, 8, 8)


def test_pooled_features_of_uint8_pil_and_float_agree():
    from PIL import Image

    torch.manual_seed(2)
    net = CarAttributeNet(**TINY).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    pil = [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in images]
    a = pooled_features(net, images, batch_size=2)
    b = pooled_features(net, pil, batch_size=2)
    c = pooled_features(net, images.float() / 127.5 - 1, batch_size=3)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


def test_flip_augmentation_mirrors_the_view_label():
    o = EvalNetTrainOptions(flip_prob=1.0, zoom=0.0, shift=0.0)
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    labels = {"car": torch.tensor([1, 2]), "view": torch.tensor([2, 1]), "paint": torch.tensor([0, 0]),
              "background": torch.tensor([0, 1])}
    x, out = augment(images, labels, o, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x, (images.float() / 127.5 - 1).flip(-1), atol=1e-5, rtol=0)
    assert out["view"].tolist() == [6, 7] and out["car"].tolist() == [1, 2]


# --- metrics on known inputs -----------------------------------------------------------------
def test_distribution_metrics_on_matched_and_separated_sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 8))
    same = rng.normal(size=(300, 8))
    far = rng.normal(size=(300, 8)) + 10.0
    assert fd_ind(real, same) < 0.3 and fd_ind(real, far) == pytest.approx(800, rel=0.1)
    assert abs(kid(real, same, subset_size=100)[0]) < 0.05 and kid(real, far, subset_size=100)[0] > 1.0
    p, r = precision_recall(real, same)
    assert p > 0.8 and r > 0.8
    assert precision_recall(real, far) == (0.0, 0.0)
    d, c = density_coverage(real, same)
    assert 0.7 < d < 1.3 and c > 0.9
    assert density_coverage(real, far) == (0.0, 0.0)


def test_kid_matches_torchmetrics_on_the_same_features():
    """Our KID on precomputed features equals torchmetrics' KernelInceptionDistance fed the same
    features through an identity 'network' (same subsets when one subset holds every sample)."""
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(50, 6)), rng.normal(size=(50, 6)) + 0.5

    class Identity(torch.nn.Module):
        def forward(self, x):
            return x

    metric = KernelInceptionDistance(feature=Identity(), subsets=1, subset_size=50)
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    expected = float(metric.compute()[0])
    assert kid(real, fake, subsets=1, subset_size=50)[0] == pytest.approx(expected, rel=1e-6)


def test_lab_of_known_colours():
    rgb = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # white, red, black in [0, 1]
    lab = rgb_to_lab((rgb * 2 - 1).T[None, :, :, None])[0, :, :, 0].T
    torch.testing.assert_close(lab[0], torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=0.05, rtol=0)
    torch.testing.assert_close(lab[1], torch.tensor([53.24, 80.09, 67.20], dtype=torch.float64), atol=0.05, rtol=0)
    torch.testing.assert_close(lab[2], torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64), atol=0.05, rtol=0)


def test_part_delta_e_sees_a_wrong_body_colour_only():
    target = torch.zeros(1, 3, 8, 8)
    parts = torch.zeros(1, 8, 8, dtype=torch.long)
    parts[0, 2:6, 2:6] = BODY
    output = target.clone()
    output[0, 0, 2:6, 2:6] = 0.5  # redder body
    errors = part_delta_e(output, target, parts)
    assert errors["body"][0] > 10 and errors["glass"] == [] and errors["wheel"] == []
    assert part_delta_e(target, target, parts)["body"] == [0.0]


def test_sharpness_index_sees_blur_and_noise():
    torch.manual_seed(0)
    x = (torch.rand(2, 3, 32, 32) > 0.5).float() * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert sharpness_index(x, x) == pytest.approx(1.0)
    assert sharpness_index(blurred, x) < 0.5
    assert sharpness_index(x + 0.5 * torch.randn_like(x), x) > 1.1


# --- the yardstick stays out of training -----------------------------------------------------
FORBIDDEN = {"carstudio.models.evalnet", "carstudio.metrics.independent", "carstudio.evaluate"}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    names = set()
    package = _module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("carstudio")}


def _transitive_imports(start: Path) -> set[str]:
    seen, todo = set(), [_module_name(start)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for candidate in (REPO / Path(*name.split("."))).with_suffix(".py"), REPO / Path(*name.split(".")) / "__init__.py":
            if candidate.is_file():
                todo += sorted(_imports(candidate) - seen)
    return seen


TRAINING_TIME = sorted(
    p for folder in ("carstudio/train", "carstudio/losses", "carstudio/augment") for p in (REPO / folder).glob("*.py")
    if p.name != "evalnet.py"  # the network's own trainer
)


@pytest.mark.parametrize("path", TRAINING_TIME, ids=lambda p: str(p.relative_to(REPO)))
def test_no_training_time_module_reaches_the_evaluation_network(path):
    reached = _transitive_imports(path)
    leaks = sorted(n for n in reached if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))
    assert not leaks, f"{path.relative_to(REPO)} reaches the yardstick through {leaks}"


def test_the_import_rule_would_catch_a_leak(tmp_path, monkeypatch):
    """The checker itself: a module importing the network (directly or via another) is caught."""
    leak = REPO / "carstudio" / "train" / "_leak_probe.py"
    leak.write_text("from carstudio.metrics import independent\n")
    try:
        assert "carstudio.metrics.independent" in _transitive_imports(leak)
    finally:
        leak.unlink()


def test_sifid_ind_is_zero_for_one_image_and_grows_with_a_change():
    from PIL import Image

    from carstudio.metrics.independent import IndependentSpatialFeatures
    from carstudio.metrics.sifid import sifid

    torch.manual_seed(3)
    extractor = IndependentSpatialFeatures(CarAttributeNet(resolution=64, widths=(8, 16, 16)))
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    smooth = image.resize((16, 12)).resize((64, 48), Image.Resampling.BILINEAR)
    same = sifid(image, image, extractor)
    assert same.value == pytest.approx(0.0, abs=1e-6) and "evaluation network" in same.features
    assert sifid(image, smooth, extractor).value > 1e-3
