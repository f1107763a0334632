"""Layout-to-car tab (seed 003): a StyleGAN samples a car part layout, SPADE renders it."""

from __future__ import annotations

from spaces.common import (APP_DIR, DESIGNS, DISPLAY_SIZE, MAX_SEED, configure_app, enlarge, launch_kwargs,
                           seed_slider, session_scoped, user_errors)
from spaces.studio import LAYOUT, Studio, editor_value
from spaces.style_controls import DEFAULT_PAINT, StyleChoice, read_style, style_controls

import gradio as gr  # noqa: E402  (spaces.common sets the environment first)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from carstudio.data.parts import PART_COLORS, PART_NAMES  # noqa: E402
from carstudio.hub import WEIGHTS_DIR, LazyModel, ModelUnavailable  # noqa: E402
from carstudio.inputs import check_number, part_layout  # noqa: E402
from carstudio.pipelines.palettes import is_palette_conditioned  # noqa: E402
from carstudio.pipelines.layout import (  # noqa: E402
    LAYOUT_WEIGHTS,
    RENDERER_WEIGHTS,
    LayoutToCarPipeline,
    label_map_image,
    layout_image,
)

EXAMPLES_DIR = APP_DIR / "examples" / "layouts"
MAX_VARIATIONS = 8
PART_HEX = ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in PART_COLORS]


def shipped_pipeline() -> LazyModel[LayoutToCarPipeline]:
    missing = [n for n in (LAYOUT_WEIGHTS, RENDERER_WEIGHTS) if not (WEIGHTS_DIR / n).is_dir()]
    if missing:
        raise ModelUnavailable(f"Layout to car needs weights/{' and weights/'.join(missing)}, which are not installed.")
    return LazyModel(LayoutToCarPipeline.from_pretrained, lambda pipe: pipe(1, seed=0))



def legend_html() -> str:
    swatches = "".join(
        f'<span style="display:inline-block;margin:2px 8px 2px 0"><span style="display:inline-block;width:16px;'
        f'height:16px;vertical-align:middle;border:1px solid #888;background:{color}"></span> {name}</span>'
        for name, color in zip(PART_NAMES, PART_HEX))
    return f"<div>Part colours (the brush offers exactly these; the eraser paints background): {swatches}</div>"


def create_demo(pipeline: LazyModel[LayoutToCarPipeline] | None = None, studio: Studio | None = None) -> gr.Blocks:
    pipeline = shipped_pipeline() if pipeline is None else pipeline
    studio = studio or Studio()

    def layout_choices(seed, psi, mix, mix_seed, mix_layer) -> dict:
        pipe = pipeline.get()
        choice = dict(seed=check_number(seed, "Layout seed", low=0, high=MAX_SEED, integer=True),
                      psi=check_number(psi, "Truncation ψ", low=0, high=1))
        if mix:
            choice["mix_seed"] = check_number(mix_seed, "Second layout seed", low=0, high=MAX_SEED, integer=True)
            choice["mix_layer"] = check_number(mix_layer, "Mix from style layer", low=0, high=pipe.num_style_layers,
                                               integer=True)
        return choice

    def takes_style(pipe: LayoutToCarPipeline) -> tuple[bool, bool]:
        """(a paint colour, an example car): a palette renderer takes both, one with a style encoder
        (the 64-px renderer) an example car."""
        palette_model = is_palette_conditioned(pipe.renderer)
        return palette_model, palette_model or pipe.style_encoder is not None

    def read_render_style(paint_body, paint_colour, example_car) -> StyleChoice:
        colour, example = takes_style(pipeline.get())
        return read_style(paint_body, paint_colour, example_car, takes_colour=colour, takes_example=example)

    def render_parts(parts: np.ndarray, style_seed, variations, style: StyleChoice,
                     record) -> list[tuple[Image.Image, str]]:
        """The cars of `parts`; `record(settings, cars)` keeps them as a design. An example car
        gives a palette renderer its palette and a renderer with a style encoder its style codes."""
        count = check_number(variations, "Variations", low=1, high=MAX_VARIATIONS, integer=True)
        seed = check_number(style_seed, "Style seed", low=0, high=MAX_SEED, integer=True)
        pipe, palettes, codes = pipeline.get(), None, None
        if style.example is not None and is_palette_conditioned(pipe.renderer):
            palettes = pipe.palette_of(style.example)
        if style.example is not None and pipe.style_encoder is not None:
            codes = pipe.style_of(style.example, count, seed)
        cars = pipe.render(np.repeat(parts[None], count, axis=0), style_seed=seed, style=codes, palettes=palettes,
                           body_colour=style.body_colour)
        record(dict(style_seed=seed, variations=count, **style.settings()), cars)
        return [(enlarge(car), f"style seed {seed}, variation {k + 1}{style.caption()}") for k, car in enumerate(cars)]

    @user_errors
    @session_scoped
    def sample_layout(seed, psi, mix, mix_seed, mix_layer, request: gr.Request):
        parts = pipeline.get().sample_layouts(1, **layout_choices(seed, psi, mix, mix_seed, mix_layer))[0].numpy()
        shown = enlarge(layout_image(parts), nearest=True)
        return {"background": shown, "layers": [], "composite": shown}, label_map_image(parts)

    @user_errors
    @session_scoped
    def render_layout(layout, style_seed, variations, paint_body=False, paint_colour=DEFAULT_PAINT, example_car=None,
                      request: gr.Request = None, progress=gr.Progress()):
        style = read_render_style(paint_body, paint_colour, example_car)
        ids, unknown = part_layout(layout)
        parts = pipeline.get().fit(ids)[0].numpy()
        progress(0.3, desc="Rendering")
        drawn = layout_image(parts)
        cars = render_parts(parts, style_seed, variations, style, lambda settings, images: DESIGNS.add(
            request, "layout", "layout_render", settings, images, inputs={"layout": drawn, **style.inputs()}))
        note = (f"{unknown:.1%} of the pixels had colours between the part colours and were snapped to the "
                "nearest part." if unknown > 0 else "")
        return enlarge(drawn, nearest=True), cars, label_map_image(parts), note

    @user_errors
    @session_scoped
    def generate(seed, psi, mix, mix_seed, mix_layer, style_seed, variations, paint_body=False,
                 paint_colour=DEFAULT_PAINT, example_car=None, request: gr.Request = None):
        choice = layout_choices(seed, psi, mix, mix_seed, mix_layer)
        style = read_render_style(paint_body, paint_colour, example_car)
        parts = pipeline.get().sample_layouts(1, **choice)[0].numpy()
        layout_settings = dict(seed=choice["seed"], psi=choice["psi"], mix=bool(mix),
                               mix_seed=choice.get("mix_seed", mix_seed), mix_layer=choice.get("mix_layer", mix_layer))
        cars = render_parts(parts, style_seed, variations, style, lambda settings, images: DESIGNS.add(
            request, "layout", "layout_generate", {**layout_settings, **settings}, images, inputs=style.inputs()))
        return enlarge(layout_image(parts), nearest=True), cars

    with gr.Blocks() as demo:
        gr.Markdown(
            "### Layout to car (StyleGAN + SPADE)\nTwo stages, as in seed 003: a StyleGAN draws a car's *part "
            "layout* (body, glass, wheels, lights, other), each pixel snapped to its part; a SPADE generator "
            "paints a car on it. Sample a layout, edit it with the part colours (or upload a label map), then "
            "render it; the style seed picks paint, lighting and background. The models work at 64×64 pixels.")
        with gr.Row():
            with gr.Column():
                with gr.Row():
                    seed = seed_slider("Layout seed")
                    psi = gr.Slider(0, 1, value=0.8, step=0.05, label="Truncation ψ (0: the average layout)")
                with gr.Accordion("Style mixing", open=False):
                    mix = gr.Checkbox(False, label="Mix with a second layout seed")
                    with gr.Row():
                        mix_seed = seed_slider("Second layout seed", value=1)
                        mix_layer = gr.Slider(0, 10, value=4, step=1,
                                              label="From style layer (low: the second seed sets the pose too)")
                sample_button = gr.Button("Sample a layout")
                layout = gr.ImageEditor(
                    label="Layout (edit with the part colours, or upload a label map)", image_mode="RGB",
                    canvas_size=(DISPLAY_SIZE, DISPLAY_SIZE), format="png", elem_id="layout-editor",
                    brush=gr.Brush(colors=PART_HEX, default_color=PART_HEX[1], default_size=12, color_mode="fixed"),
                    eraser=gr.Eraser(default_size=16), sources=("upload",), layers=False)
                gr.HTML(legend_html())
                examples = sorted(EXAMPLES_DIR.glob("*.png"))
                if examples:
                    gr.Examples([[str(p)] for p in examples], [layout],
                                label="Label maps of held-out cars (never seen in training)")
                with gr.Row():
                    style_seed = seed_slider("Style seed")
                    variations = gr.Slider(1, MAX_VARIATIONS, value=4, step=1, label="Variations")
                style = style_controls("layout", "Style from an example car (optional: replaces the style seed's "
                                                 "paint and lighting; variations stay close to it)")
                with gr.Row():
                    render_button = gr.Button("Render this layout", variant="primary", elem_id="layout-render")
                    generate_button = gr.Button("Sample and render")
            with gr.Column():
                rendered_layout = gr.Image(label="Layout rendered (part ids at 64 px)", format="png",
                                           interactive=False, height=256)
                cars = gr.Gallery(label="Cars", columns=4, format="png", object_fit="contain", height="auto",
                                  elem_id="layout-results")
                studio.send_actions(cars)
                label_map = gr.File(label="Label map (PNG: pixel values are part ids 0-5, shown in the part colours)",
                                    elem_id="layout-label-map")
                note = gr.Markdown()

        # preprocess=False: raw values reach carstudio.inputs, which checks them with clear messages
        sample_button.click(sample_layout, [seed, psi, mix, mix_seed, mix_layer], [layout, label_map],
                            api_name="layout_sample", preprocess=False)
        render_button.click(render_layout, [layout, style_seed, variations, *style.inputs],
                            [rendered_layout, cars, label_map, note], api_name="layout_render", preprocess=False)
        generate_button.click(generate, [seed, psi, mix, mix_seed, mix_layer, style_seed, variations, *style.inputs],
                              [rendered_layout, cars], api_name="layout_generate", preprocess=False)
        style.show_when_loaded(demo, lambda: takes_style(pipeline.get()))
        demo.load(sample_layout, [seed, psi, mix, mix_seed, mix_layer], [layout, label_map], api_name=False,
                  preprocess=False)
        studio.receiver("layout", "Layout to car (editor)", "layout", layout, kind=LAYOUT, to_value=editor_value)
        studio.restorable(["layout_render"], "layout", dict(style_seed=style_seed, variations=variations),
                          computed=[(layout, lambda values: editor_value(values["layout"])), *style.restored()])
        studio.restorable(["layout_generate"], "layout", dict(seed=seed, psi=psi, mix=mix, mix_seed=mix_seed,
                                                              mix_layer=mix_layer, style_seed=style_seed,
                                                              variations=variations), computed=style.restored())
    return demo


if __name__ == "__main__":
    configure_app(create_demo()).launch(**launch_kwargs())
