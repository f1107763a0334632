"""Sketch-to-car pipeline on tiny random models, and a tiny trained sketch segmenter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from carstudio.data.parts import BODY, NUM_PARTS
from carstudio.inputs import InvalidInput
from carstudio.metrics.segmentation import confusion_matrix, mean_iou
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import SPADEGenerator, SSGANGenerator
from carstudio.pipelines.sketch import SketchToCarPipeline
from carstudio.data.loading import hand_drawn_val, load_renders
from carstudio.train.segmenter import SegmenterTrainOptions
from tests.smoke.helpers import SIZE, write_render_folder


def car_ink(canvas: tuple[int, int], box: tuple[int, int, int, int], width: int = 3) -> np.ndarray:
    """A synthetic car outline (body, cabin, two wheels) inside `box` on a blank canvas, 255 = ink."""
    image = Image.new("L", canvas, 0)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle([x0, y0 + h * 0.35, x1, y0 + h * 0.8], outline=255, width=width)
    draw.rectangle([x0 + w * 0.25, y0, x0 + w * 0.7, y0 + h * 0.35], outline=255, width=width)
    for cx in (x0 + w * 0.2, x0 + w * 0.8):
        draw.ellipse([cx - h * 0.2, y1 - h * 0.4, cx + h * 0.2, y1], outline=255, width=width)
    return np.asarray(image)


def tiny_pipeline(generator_class=SSGANGenerator, seed: int = 0) -> SketchToCarPipeline:
    torch.manual_seed(seed)
    segmenter = PartSegmenter(in_channels=1, widths=(4, 8), feature_level=1, resolution=SIZE)
    extra = {"sfm_channels": 4} if generator_class is SSGANGenerator else {}
    generator = generator_class(z_dim=8, widths=(8, 8, 4), resolution=SIZE, spade_hidden=8, **extra)
    return SketchToCarPipeline(segmenter, generator)


def test_prepare_is_binary_and_invariant_to_position_and_scale():
    pipe = tiny_pipeline()
    small = pipe.prepare(car_ink((300, 200), (20, 30, 140, 90), width=2))
    large = pipe.prepare(car_ink((900, 700), (400, 300, 760, 480), width=6))
    assert small.shape == (1, 1, SIZE, SIZE)
    assert set(torch.unique(small).tolist()) <= {-1.0, 1.0}
    lines_a, lines_b = small[0, 0] < 0, large[0, 0] < 0
    overlap = (lines_a & lines_b).sum() / (lines_a | lines_b).sum()
    assert overlap > 0.6, overlap
    # the drawing is centred: its ink's centre of mass sits near the middle
    rows, cols = torch.nonzero(lines_b, as_tuple=True)
    assert abs(rows.float().mean() - SIZE / 2) < 4 and abs(cols.float().mean() - SIZE / 2) < 4


def test_outputs_shapes_and_seeded_determinism():
    pipe = tiny_pipeline()
    ink = car_ink((256, 160), (20, 20, 230, 140))
    first, again, other = pipe(ink, 3, seed=7), pipe(ink, 3, seed=7), pipe(ink, 3, seed=8)
    assert len(first.images) == 3 and all(im.size == (SIZE, SIZE) for im in first.images)
    assert first.parts.shape == (SIZE, SIZE) and first.parts.max() < NUM_PARTS
    assert first.mask.size == (SIZE, SIZE)
    assert [m.size for m in first.sfm_masks] == [(8, 8), (16, 16)]  # one ToMask per upsampling stage
    for a, b in zip(first.images, again.images):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(first.images[0]), np.asarray(other.images[0]))
    assert np.array_equal(np.asarray(pipe.mask(ink)), np.asarray(first.mask))


def test_spade_baseline_has_no_sfm_masks():
    out = tiny_pipeline(SPADEGenerator)(car_ink((128, 128), (10, 30, 120, 90)), 1, seed=0)
    assert out.sfm_masks == [] and len(out.images) == 1


def test_bad_sketches_are_refused_with_a_message():
    pipe = tiny_pipeline()
    with pytest.raises(InvalidInput, match="empty"):
        pipe(np.zeros((100, 100), np.uint8))
    dot = np.zeros((500, 500), np.uint8)
    dot[250:252, 250:252] = 255
    with pytest.raises(InvalidInput, match="dot"):
        pipe(dot)
    with pytest.raises(InvalidInput, match="filled"):
        pipe(np.full((100, 100), 255, np.uint8))


def test_save_and_load_keep_the_generator_class(tmp_path):
    pipe = tiny_pipeline(SPADEGenerator)
    pipe.segmenter.save_pretrained(tmp_path / "seg")
    pipe.generator.save_pretrained(tmp_path / "gen")
    loaded = SketchToCarPipeline.from_pretrained(tmp_path / "seg", tmp_path / "gen")
    assert isinstance(loaded.generator, SPADEGenerator)
    ink = car_ink((128, 128), (10, 30, 120, 90))
    assert np.array_equal(np.asarray(loaded(ink, 1, seed=3).images[0]), np.asarray(pipe(ink, 1, seed=3).images[0]))


def test_three_channel_segmenter_is_refused():
    with pytest.raises(ValueError, match="1-channel"):
        SketchToCarPipeline(PartSegmenter(widths=(4, 8), feature_level=1), SSGANGenerator(widths=(8, 4), resolution=16))


def test_tiny_trained_sketch_segmenter_beats_the_all_body_baseline(tmp_path):
    """A few dozen steps on synthetic renders: better mIoU on hand-drawn sketches than calling
    every pixel 'body' (and than chance)."""
    from carstudio.train.segmenter import RunConfig, train

    folder = write_render_folder(tmp_path / "renders", count=16)
    o = SegmenterTrainOptions(inputs="sketches", widths=(8, 16), feature_level=1, resolution=SIZE, steps=60,
                              batch_size=8, lr=1e-2, warmup_steps=5, log_every=1000, checkpoint_every=1000)
    threads = torch.get_num_threads()
    try:
        train(RunConfig([folder], tmp_path / "run", threads=1), o, log=lambda msg: None)
    finally:
        torch.set_num_threads(threads)
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(True)
    model = PartSegmenter.from_pretrained(tmp_path / "run" / "best").eval()
    data = load_renders([folder], SIZE, sketches=True)
    sketches = hand_drawn_val(data.sketches, seed=1).float() / 127.5 - 1.0
    with torch.no_grad():
        predicted = model(sketches).argmax(1)
    trained = mean_iou(confusion_matrix(predicted, data.parts, NUM_PARTS))
    all_body = mean_iou(confusion_matrix(torch.full_like(data.parts, BODY), data.parts, NUM_PARTS))
    assert trained > all_body + 0.1, (trained, all_body)


def test_a_generator_larger_than_the_segmenter_gets_masks_from_enlarged_logits():
    class DiagonalSegmenter(PartSegmenter):
        """Body above a diagonal, background below: a boundary at 45 degrees."""

        def forward(self, x):
            rows, cols = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
            logits = torch.zeros(x.shape[0], NUM_PARTS, 16, 16)
            logits[:, BODY] = (cols - rows) / 4
            return logits

    segmenter = DiagonalSegmenter(in_channels=1, widths=(8, 8), feature_level=1, resolution=16).eval()
    generator = SSGANGenerator(z_dim=8, widths=(8, 8, 8), resolution=32, spade_hidden=8, sfm_channels=8)
    parts = SketchToCarPipeline(segmenter, generator).segment(torch.ones(1, 1, 32, 32))
    assert parts.shape == (1, 32, 32)
    body = parts[0] == BODY
    # the enlarged logits put the boundary on the 32-px diagonal: a 1-px staircase, where
    # nearest-enlarging the 16-px label map gives 2-px steps
    rows, cols = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    assert torch.equal(body, cols > rows)
    nearest = (segmenter(torch.ones(1, 1, 16, 16)).argmax(1) == BODY).repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert not torch.equal(nearest[0], body)
