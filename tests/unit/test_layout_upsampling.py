"""Layouts reach a renderer with a higher resolution than the layout generator at the renderer's
resolution, the part logits upsampled before the argmax (smooth boundaries, issue 19), on tiny
random models: a 16-px layout StyleGAN and a 32-px SPADE renderer (widths >= 8: 4-channel convs
in channels_last crash torch on this CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from carstudio.data.parts import BACKGROUND, BODY, NUM_PARTS
from carstudio.models.ssgan import SPADEGenerator
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.pipelines.layout import LayoutToCarPipeline

LAYOUT_R, RENDER_R = 16, 32


def tiny_pair(layout_r: int = LAYOUT_R, render_r: int = RENDER_R) -> LayoutToCarPipeline:
    torch.manual_seed(0)
    widths = {16: (8, 8, 8), 32: (8, 8, 8, 8)}
    layout = StyleGANGenerator(resolution=layout_r, z_dim=8, w_dim=8, mapping_layers=2, widths=widths[layout_r])
    renderer = SPADEGenerator(z_dim=8, widths=widths[render_r], resolution=render_r, spade_hidden=8)
    return LayoutToCarPipeline(layout, renderer)


@pytest.fixture(scope="module")
def pipe() -> LayoutToCarPipeline:
    return tiny_pair()


def generator_logits(pipe: LayoutToCarPipeline, seed: int) -> torch.Tensor:
    """What sample_layouts feeds the layout generator for `seed` (one layout)."""
    g = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        return pipe.layout_generator(pipe.layout_generator.sample_latents(1, g), psi=1.0, noise_generator=g)


def test_sampled_layouts_have_the_renderers_resolution_from_upsampled_logits(pipe):
    parts = pipe.sample_layouts(1, seed=4)
    assert parts.shape == (1, RENDER_R, RENDER_R) and parts.dtype == torch.int64
    logits = generator_logits(pipe, 4)
    assert logits.shape[-1] == LAYOUT_R
    soft = F.interpolate(logits, size=(RENDER_R, RENDER_R), mode="bilinear", align_corners=False).argmax(1)
    nearest = pipe.fit(logits.argmax(1))
    assert torch.equal(parts, soft)
    assert not torch.equal(parts, nearest)  # the label map upsampled would give other boundaries
    # the same layout: each 2x2 cell's majority is the generator's own argmax almost everywhere
    back = F.interpolate(F.one_hot(parts, NUM_PARTS).permute(0, 3, 1, 2).float(), size=(LAYOUT_R,) * 2,
                         mode="area").argmax(1)
    assert (back == logits.argmax(1)).float().mean() > 0.9


def test_upsampled_boundaries_step_one_pixel_not_two(pipe):
    """A 45-degree boundary in the logits: upsampling the label map gives 2-pixel stairs, upsampling
    the logits a boundary that moves by one pixel per row, as a 32-px drawing of it would."""
    y, x = torch.meshgrid(torch.arange(LAYOUT_R, dtype=torch.float32), torch.arange(LAYOUT_R, dtype=torch.float32),
                          indexing="ij")
    logits = torch.zeros(1, NUM_PARTS, LAYOUT_R, LAYOUT_R)
    logits[0, BODY] = x - y
    parts = pipe.layouts_from_logits(logits)[0].numpy()
    first_body = (parts == BODY).argmax(1)[4:-4]  # rows away from the borders
    assert set(np.diff(first_body).tolist()) == {1}
    stairs = pipe.fit(logits.argmax(1))[0].numpy()
    assert set(np.diff((stairs == BODY).argmax(1)[4:-4]).tolist()) == {0, 2}
    assert set(np.unique(parts)) == {BACKGROUND, BODY}


def test_sample_and_render_are_seeded_at_the_renderers_resolution(pipe):
    out = pipe(2, seed=3, psi=0.7, style_seed=5)
    again = pipe(2, seed=3, psi=0.7, style_seed=5)
    assert out.parts.shape == (2, RENDER_R, RENDER_R) and np.array_equal(out.parts, again.parts)
    assert out.images[0].size == (RENDER_R, RENDER_R) and out.layouts[0].size == (RENDER_R, RENDER_R)
    assert [np.asarray(i).tolist() for i in out.images] == [np.asarray(i).tolist() for i in again.images]
    assert not np.array_equal(out.parts[0], pipe(1, seed=4, psi=0.7).parts[0])


def test_equal_or_smaller_renderers_keep_the_label_map_path():
    same = tiny_pair(16, 16)
    logits = generator_logits(same, 2)
    assert torch.equal(same.sample_layouts(1, seed=2), logits.argmax(1))
    smaller = tiny_pair(32, 16)
    logits = generator_logits(smaller, 2)
    assert torch.equal(smaller.sample_layouts(1, seed=2), smaller.fit(logits.argmax(1)))
