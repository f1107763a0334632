"""Sketch-to-car tab (SSGAN, seed 004): draw a car outline, get its part mask and car images."""

from __future__ import annotations

from spaces.common import (APP_DIR, DESIGNS, MAX_SEED, configure_app, enlarge, launch_kwargs, seed_slider,
                           session_scoped, user_errors)
from spaces.studio import LAYOUT, Studio, editor_value
from spaces.style_controls import DEFAULT_PAINT, read_style, style_controls

import gradio as gr  # noqa: E402  (spaces.common sets the environment first)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from carstudio.hub import WEIGHTS_DIR, LazyModel, ModelUnavailable  # noqa: E402
from carstudio.inputs import check_number, sketch_strokes  # noqa: E402
from carstudio.pipelines.palettes import is_palette_conditioned  # noqa: E402
from carstudio.pipelines.sketch import GENERATOR_WEIGHTS, SEGMENTER_WEIGHTS, SketchToCarPipeline  # noqa: E402

EXAMPLES_DIR = APP_DIR / "examples" / "sketches"
MAX_VARIATIONS = 8
CANVAS_SIZE = (512, 320)


def shipped_pipeline() -> LazyModel[SketchToCarPipeline]:
    missing = [n for n in (SEGMENTER_WEIGHTS, GENERATOR_WEIGHTS) if not (WEIGHTS_DIR / n).is_dir()]
    if missing:
        raise ModelUnavailable(f"Sketch to car needs weights/{' and weights/'.join(missing)}, which are not installed.")

    def warm_up(pipe: SketchToCarPipeline) -> None:
        ink = np.zeros((64, 128), np.uint8)
        ink[20:44, 10:118] = 255
        ink[24:40, 14:114] = 0
        pipe(ink, 1, seed=0)

    return LazyModel(SketchToCarPipeline.from_pretrained, warm_up)



def ink_picture(ink: np.ndarray) -> Image.Image:
    """The strokes as dark lines on white, a Sketchpad value the tab reads back to the same ink."""
    return Image.fromarray(255 - ink).convert("RGB")


def create_demo(pipeline: LazyModel[SketchToCarPipeline] | None = None, studio: Studio | None = None) -> gr.Blocks:
    pipeline = shipped_pipeline() if pipeline is None else pipeline
    studio = studio or Studio()

    @user_errors
    @session_scoped
    def sketch_to_mask(sketch, request: gr.Request):
        return enlarge(pipeline.get().mask(sketch_strokes(sketch)), nearest=True)

    @user_errors
    @session_scoped
    def sketch_to_car(sketch, num_variations, seed, show_sfm, paint_body=False, paint_colour=DEFAULT_PAINT,
                      example_car=None, request: gr.Request = None, progress=gr.Progress()):
        count = check_number(num_variations, "Number of variations", low=1, high=MAX_VARIATIONS, integer=True)
        seed = check_number(seed, "Style seed", low=0, high=MAX_SEED, integer=True)
        pipe = pipeline.get()
        palette_model = is_palette_conditioned(pipe.generator)  # takes a colour and an example, or neither
        style = read_style(paint_body, paint_colour, example_car, takes_colour=palette_model,
                           takes_example=palette_model)
        progress(0.2, desc="Segmenting the sketch and generating")
        ink = sketch_strokes(sketch)
        palettes = None if style.example is None else pipe.palette_of(style.example)
        out = pipe(ink, count, seed=seed, palettes=palettes, body_colour=style.body_colour)
        DESIGNS.add(request, "sketch", "sketch_generate",
                    dict(variations=count, style_seed=seed, show_sfm=bool(show_sfm), **style.settings()),
                    out.images, inputs={"sketch": ink_picture(ink), **style.inputs()})
        sfm = [(enlarge(m, nearest=True), f"m{i + 1} ({m.width} px)")
               for i, m in enumerate(out.sfm_masks)] if show_sfm else []
        cars = [(enlarge(image), f"style seed {seed}, variation {k + 1}{style.caption()}")
                for k, image in enumerate(out.images)]
        return enlarge(out.mask, nearest=True), sfm, cars

    with gr.Blocks() as demo:
        gr.Markdown(
            "### Sketch to car (SSGAN)\nDraw the outline of a car in black on the white canvas (any size, any "
            "position: the drawing is cropped and centred). A segmenter turns the lines into a part mask "
            "(body, glass, wheels, lights, other); the SSGAN generator paints a car on that layout, its "
            "Semantic Fusion Module re-reading the mask at every scale. The style seed picks the paint and "
            "lighting. The models work at 64×64 pixels.")
        with gr.Row():
            with gr.Column():
                sketch = gr.Sketchpad(
                    label="Sketch", type="numpy", image_mode="RGBA", elem_id="sketch-sketchpad",
                    canvas_size=CANVAS_SIZE, format="png",
                    brush=gr.Brush(colors=["#000000"], default_color="#000000", default_size=4, color_mode="fixed"),
                    eraser=gr.Eraser(default_size=16))
                with gr.Row():
                    seed = seed_slider("Style seed")
                    variations = gr.Slider(1, MAX_VARIATIONS, value=4, step=1, label="Variations")
                show_sfm = gr.Checkbox(True, label="Show the SFM's intermediate masks")
                style = style_controls("sketch", "Style from an example car (optional: its paint, glass and "
                                                 "wheel colours)")
                with gr.Row():
                    mask_button = gr.Button("Mask only")
                    generate_button = gr.Button("Generate cars", variant="primary", elem_id="sketch-generate")
            with gr.Column():
                mask = gr.Image(label="Predicted part mask M0", format="png", interactive=False, height=256)
                sfm = gr.Gallery(label="SFM masks m_i (coarse to fine)", columns=3, format="png", height="auto")
                studio.send_actions(mask, kind=LAYOUT)
        cars = gr.Gallery(label="Generated cars", columns=4, format="png", object_fit="contain", height="auto",
                          elem_id="sketch-results")
        studio.send_actions(cars)
        examples = sorted(EXAMPLES_DIR.glob("*.png"))
        if examples:
            gr.Examples([[str(p)] for p in examples], [sketch], label="Example sketches (drawn in the browser)")

        # preprocess=False: raw values reach carstudio.inputs, which checks them with clear messages
        mask_button.click(sketch_to_mask, sketch, mask, api_name="sketch_mask", preprocess=False)
        generate_button.click(sketch_to_car, [sketch, variations, seed, show_sfm, *style.inputs],
                              [mask, sfm, cars], api_name="sketch_generate", preprocess=False)
        style.show_when_loaded(demo, lambda: (is_palette_conditioned(pipeline.get().generator),) * 2)
        studio.restorable(["sketch_generate"], "sketch", dict(variations=variations, style_seed=seed, show_sfm=show_sfm),
                          computed=[(sketch, lambda values: editor_value(values["sketch"])), *style.restored()])
    return demo


if __name__ == "__main__":
    configure_app(create_demo()).launch(**launch_kwargs())
