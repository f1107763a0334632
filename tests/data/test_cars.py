"""The catalogue, model discovery, corrupt-file handling, and the real Debian models if present."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from carstudio.data.cars import (
    CATALOGUE,
    CARS,
    DOMAINS,
    ModelSources,
    find_car_models,
    load_cars,
    select_cars,
)
from carstudio.data.parts import BODY, GLASS, WHEEL
from carstudio.data.render import Renderer
from carstudio.data.scene import Background, Camera, Style


def test_catalogue_is_held_out_by_model() -> None:
    assert len(CARS) == len(CATALOGUE) == 26
    by_model = defaultdict(set)
    for c in CATALOGUE:
        by_model[c.model].add((c.domain, c.split))
    assert all(len(v) == 1 for v in by_model.values()), "a body shape on both sides of a split"
    for domain in DOMAINS:
        assert select_cars(domain, "train") and select_cars(domain, "test")
    assert set(select_cars("everyday")) | set(select_cars("futuristic")) == set(CARS)
    assert select_cars("all", "all", ["p406", "buggy"]) == ["p406", "buggy"]
    assert select_cars("futuristic", None, ["p406"]) == []


def test_select_cars_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown car"):
        select_cars(names=["p407"])
    with pytest.raises(ValueError, match="unknown domain"):
        select_cars("retro")


def test_missing_models_name_the_install_command(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install torcs-data trigger-rally-data"):
        find_car_models(tmp_path)


def test_find_models_in_a_folder(models_dir) -> None:
    sources = find_car_models(models_dir)
    assert sources.torcs == models_dir
    assert sources.trigger == models_dir / "trigger-rally"
    assert sources.available(["p406", "cordo_wrc", "buggy"]) == ["p406", "cordo_wrc", "buggy"]


def test_corrupt_model_is_skipped_with_a_warning(models_dir) -> None:
    sources = find_car_models(models_dir)
    with pytest.warns(UserWarning, match="skipping car p406"):
        loaded, skipped = load_cars(["car1-trb1", "p406", "cordo_wrc"], sources)
    assert sorted(loaded) == ["car1-trb1", "cordo_wrc"]
    assert list(skipped) == ["p406"] and "truncated" in skipped["p406"]


def _installed() -> ModelSources | None:
    """Both Debian packages' models, or None (then the real-data test is skipped)."""
    try:
        sources = find_car_models()
    except FileNotFoundError:
        return None
    return sources if sources.torcs and sources.trigger else None


@pytest.mark.skipif(_installed() is None, reason="torcs-data / trigger-rally-data not installed "
                                                  "(apt-get install torcs-data trigger-rally-data)")
def test_real_models_load_and_render() -> None:
    sources = _installed()
    names = sources.available([c.name for c in CATALOGUE])
    assert len(names) == 26
    loaded, skipped = load_cars(names, sources)
    assert skipped == {}
    renderer = Renderer(48, 32)
    style = Style(background=Background(kind="plain"))
    try:
        for name, car in loaded.items():
            assert car.problems == [], name
            counts = car.part_counts()
            assert counts[BODY] > 100 and counts[WHEEL] > 0, name
            lo, hi = car.bounds()
            assert 3.0 < hi[0] - lo[0] < 5.5 and 1.2 < hi[1] - lo[1] < 2.3, name  # car-sized
            assert car.ground_z == pytest.approx(lo[2], abs=0.02), name  # tyres on the road
            s = renderer.render(car, Camera(azimuth=60, elevation=15), style)
            seen = np.bincount(s.parts.ravel(), minlength=6)
            assert seen[BODY] > 80 and seen[WHEEL] > 5, name
            if CARS[name].texel_glass and name != "buggy":  # open cars have no windows
                assert seen[GLASS] > 0, name
    finally:
        renderer.release()
