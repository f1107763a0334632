"""SinGAN paint-to-car tab: paint on a Sketchpad, a single-image GAN turns it into a car."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from spaces.common import (APP_DIR, DESIGNS, SESSION_FILES, TEMP_DIR, configure_app, launch_kwargs, seed_slider,
                           session_scoped, user_errors)
from spaces.studio import Studio, editor_value

import gradio as gr  # noqa: E402  (spaces.common sets the environment first)
import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from carstudio.data.parts import PART_NAMES  # noqa: E402
from carstudio.hub import WEIGHTS_DIR, LazyModel, ModelUnavailable  # noqa: E402
from carstudio.imaging import quantize_to  # noqa: E402
from carstudio.inputs import (  # noqa: E402
    InvalidInput,
    check_choice,
    check_has_content,
    check_number,
    downscale_to,
    open_image,
    sketch_colors,
)
from carstudio.pipelines.segmenter import DEFAULT_WEIGHTS as SEGMENTER_WEIGHTS  # noqa: E402
from carstudio.pipelines.segmenter import SegmenterPipeline  # noqa: E402
from carstudio.pipelines.singan import AutomaticPainter, NoCarFound, SinGANPipeline  # noqa: E402
from carstudio.train.jobs import JobBusy, JobCancelled, JobFailed, SingleJobRunner  # noqa: E402
from carstudio.train.singan_trainer import train_to_directory  # noqa: E402

MODEL_PREFIX = "singan-"
EXAMPLES_DIR = APP_DIR / "examples"
MAX_SAMPLES = 8
CANVAS_SIZE = (480, 288)  # the shipped references' 5:3 frame
# The Train tab's preset; CARSTUDIO_SINGAN_TRAIN_PRESET=smoke makes it seconds long (tests).
TRAIN_PRESET = os.environ.get("CARSTUDIO_SINGAN_TRAIN_PRESET", "fast")
TRAIN_TIMEOUT_S = 30 * 60  # the cap per job, stated in the tab: one slot, shared fairly
TRAIN_TYPICAL_S = 10 * 60  # the fast preset here, until a job has been timed
SESSION_TTL_S = 3600
TRAINING = SingleJobRunner(max_waiting=4, typical_seconds=TRAIN_TYPICAL_S)
# "Random samples" start here: from noise (scale 0) SinGAN gives the reference's texture, not a car;
# scale 1 is the coarsest that keeps the car's layout and varies it most (docs/singan.md shows 0-4).
LAYOUT_START_SCALE = 1


PAINTER = LazyModel(lambda: AutomaticPainter(SegmenterPipeline.from_pretrained(SEGMENTER_WEIGHTS)),
                    lambda painter: painter.segmenter(Image.new("RGB", (64, 64))))


def segmenter_installed() -> bool:
    return (WEIGHTS_DIR / SEGMENTER_WEIGHTS).is_dir()


def reference_part_colors(pipe: SinGANPipeline) -> dict[int, tuple] | None:
    """Part colours of the reference car, or None without a usable segmenter (the k-means
    palette still works then)."""
    if not segmenter_installed():
        return None
    try:
        return PAINTER.get().reference_colors(pipe)
    except ModelUnavailable:
        return None


def automatic_painting(pipe: SinGANPipeline, photo: Image.Image) -> Image.Image:
    try:
        return PAINTER.get()(pipe, photo)
    except NoCarFound as error:
        raise InvalidInput("No car was found in this image: upload a car (wheels visible) on a plain "
                           "background.") from error


def shipped_models() -> dict[str, LazyModel[SinGANPipeline]]:
    names = sorted(p.name for p in WEIGHTS_DIR.glob(MODEL_PREFIX + "*") if p.is_dir())
    return {name: LazyModel(lambda n=name: SinGANPipeline.from_pretrained(n), lambda p: p(1, seed=0))
            for name in names}


def starter_painting(pipe: SinGANPipeline) -> Image.Image:
    """The reference flattened to its palette: a painting the user can edit instead of a blank
    canvas, already in the colours the model understands."""
    flat = quantize_to(np.asarray(pipe.reference_image()), pipe.palette)
    painting = Image.fromarray(flat).filter(ImageFilter.ModeFilter(5))
    # shown at the canvas's drawing size; the pipeline resizes paintings to the model's size
    height = round(painting.height * CANVAS_SIZE[0] / painting.width)
    return painting.resize((CANVAS_SIZE[0], height), Image.NEAREST)


def hex_color(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in rgb)


def brush_palette(pipe: SinGANPipeline, colors_by_part: dict[int, tuple] | None) -> list[tuple[str, str]]:
    """(name, hex) pairs offered on the brush: the reference's part colours (from the part
    segmenter, seed 000 section 3) when available, then the k-means colours of the image."""
    named = [(PART_NAMES[i], hex_color(c)) for i, c in sorted((colors_by_part or {}).items())]
    taken = {h for _, h in named}
    return named + [(f"colour {k + 1}", h) for k, h in enumerate(pipe.palette_hex()) if h not in taken]


def palette_html(palette: list[tuple[str, str]]) -> str:
    swatches = "".join(
        f'<span title="{name} {color}" style="display:inline-block;width:28px;height:28px;margin:2px;'
        f'border:1px solid #888;background:{color}"></span>' for name, color in palette)
    return f"<div>Palette of this car (the brush offers these colours; hover for the part): {swatches}</div>"


def create_demo(models: dict[str, LazyModel[SinGANPipeline]] | None = None, studio: Studio | None = None) -> gr.Blocks:
    models = shipped_models() if models is None else models
    studio = studio or Studio()
    if not models:
        raise ModelUnavailable("No SinGAN reference car is installed under weights/singan-*.")
    default = next(iter(models))

    def pipeline(name: str, session_models: dict) -> SinGANPipeline:
        if name in session_models:
            return session_models[name]
        check_choice(name, "Reference car", list(models))
        return models[name].get()

    @user_errors
    @session_scoped
    def show_reference(name: str, session_models: dict, request: gr.Request):
        pipe = pipeline(name, session_models)
        painting = SESSION_FILES.save_image(request, starter_painting(pipe))
        palette = brush_palette(pipe, reference_part_colors(pipe))
        colors = [c for _, c in palette]
        default = dict(palette).get("body", pipe.body_color_hex())
        return (
            pipe.reference_image(),
            palette_html(palette),
            gr.Sketchpad(value={"background": painting, "layers": [], "composite": painting},
                         brush=gr.Brush(colors=colors, default_color=default)),
            gr.Slider(maximum=pipe.num_scales - 1, value=min(pipe.num_scales - 1, max(1, pipe.num_scales // 2))),
            gr.Slider(maximum=pipe.num_scales - 1, value=min(LAYOUT_START_SCALE, pipe.num_scales - 1)),
            gr.Slider(maximum=pipe.num_scales - 1),
        )

    @user_errors
    @session_scoped
    def paint(name, sketch, inject_scale, num_samples, seed, quantize, session_models, request: gr.Request,
              progress=gr.Progress()):
        pipe = pipeline(name, session_models)
        scale = check_number(inject_scale, "Injection scale", low=1, high=pipe.num_scales - 1, integer=True)
        count = check_number(num_samples, "Number of samples", low=1, high=MAX_SAMPLES, integer=True)
        seed = check_number(seed, "Seed", low=0, high=2**31 - 1, integer=True)
        painting = downscale_to(sketch_colors(sketch), 1024)
        progress(0.1, desc="Generating")
        cars = pipe(count, seed=seed, painting=painting, inject_scale=scale, quantize=bool(quantize))
        DESIGNS.add(request, "singan", "singan_paint", dict(car=name, inject_scale=scale, samples=count, seed=seed,
                                                            quantize=bool(quantize)), cars, inputs={"painting": painting})
        return cars

    @user_errors
    @session_scoped
    def paint_from_photo(name, photo, inject_scale, num_samples, seed, session_models, request: gr.Request,
                         progress=gr.Progress()):
        pipe = pipeline(name, session_models)
        scale = check_number(inject_scale, "Injection scale", low=1, high=pipe.num_scales - 1, integer=True)
        count = check_number(num_samples, "Number of samples", low=1, high=MAX_SAMPLES, integer=True)
        seed = check_number(seed, "Seed", low=0, high=2**31 - 1, integer=True)
        progress(0.1, desc="Segmenting the car")
        picture = downscale_to(open_image(photo), 1024)
        painting = automatic_painting(pipe, picture)
        progress(0.5, desc="Generating")
        cars = pipe(count, seed=seed, painting=painting, inject_scale=scale)
        DESIGNS.add(request, "singan", "singan_paint_photo", dict(car=name, inject_scale=scale, samples=count,
                                                                  seed=seed), cars, inputs={"photo": picture})
        return painting, cars

    @user_errors
    @session_scoped
    def sample(name, num_samples, seed, width_scale, start_scale, session_models, request: gr.Request):
        pipe = pipeline(name, session_models)
        count = check_number(num_samples, "Number of samples", low=1, high=MAX_SAMPLES, integer=True)
        seed = check_number(seed, "Seed", low=0, high=2**31 - 1, integer=True)
        stretch = check_number(width_scale, "Width scale", low=0.5, high=2.0)
        start = check_number(start_scale, "Start scale", low=0, high=pipe.num_scales - 1, integer=True)
        cars = pipe(count, seed=seed, size_multiplier=(1.0, stretch), start_scale=start)
        DESIGNS.add(request, "singan", "singan_sample", dict(car=name, samples=count, seed=seed, width_scale=stretch,
                                                             start_scale=start), cars)
        return cars

    @user_errors
    @session_scoped
    def train(upload, session_models, request: gr.Request, progress=gr.Progress()):
        image = check_has_content(downscale_to(open_image(upload), 1024), "This picture")
        owner = request.session_hash or "api"
        out_dir = Path(tempfile.mkdtemp(prefix="singan-train-", dir=TEMP_DIR))
        try:
            try:
                for fraction, message in TRAINING.run(
                    owner, train_to_directory, (np.asarray(image), TRAIN_PRESET, str(out_dir), 1),
                    timeout_seconds=TRAIN_TIMEOUT_S,
                ):
                    progress(fraction, desc=message)
            except (JobBusy, JobCancelled, JobFailed) as error:
                raise gr.Error(str(error)) from error
            pipe = SinGANPipeline.from_pretrained(out_dir)
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        name = f"your car {len(session_models) + 1} ({uuid.uuid4().hex[:4]})"
        session_models = {**session_models, name: pipe}
        choices = list(session_models) + list(models)
        return (session_models, gr.Dropdown(choices=choices, value=name),
                f"Trained **{name}**: it is selected above and lives only in this session.")

    def cancel(request: gr.Request):
        asked = TRAINING.cancel(request.session_hash or "api")
        return "Cancelling…" if asked else "No training job of yours is queued or running."

    with gr.Blocks() as demo:
        gr.Markdown(
            "### SinGAN paint-to-car\nA single-image GAN learned the patches of one reference car at "
            "every scale. Paint a rough car in the reference's colours: the painting is injected at the "
            "chosen scale (coarser = more freedom, finer = closer to your painting) and the finer scales "
            "add the reference's details.")
        session_models = gr.State({}, time_to_live=SESSION_TTL_S)
        with gr.Row():
            # custom values: models trained in this session are not in the static choices
            car = gr.Dropdown(list(models), value=default, label="Reference car", scale=1,
                              allow_custom_value=True)
            reference = gr.Image(label="Reference (training image)", interactive=False, scale=1, height=180,
                                 format="png")
        palette = gr.HTML()
        with gr.Tabs() as modes, gr.Tab("Paint", id="paint"):
            with gr.Row():
                with gr.Column():
                    sketch = gr.Sketchpad(label="Painting", type="filepath", image_mode="RGBA",
                                          elem_id="singan-sketchpad", canvas_size=CANVAS_SIZE, format="png")
                    with gr.Row():
                        inject = gr.Slider(1, 7, value=4, step=1, label="Injection scale")
                        count = gr.Slider(1, MAX_SAMPLES, value=4, step=1, label="Samples")
                    with gr.Row():
                        seed = seed_slider()
                        quantize = gr.Checkbox(True, label="Snap colours to the palette")
                    paint_button = gr.Button("Generate from painting", variant="primary", elem_id="singan-paint")
                with gr.Column():
                    paint_gallery = gr.Gallery(label="Results", columns=2, elem_id="singan-results", format="png",
                                               object_fit="contain", height="auto")
                    studio.send_actions(paint_gallery)
        with modes, gr.Tab("Paint from a photo", id="photo", visible=segmenter_installed()):
            gr.Markdown("Upload a car (a photo, a render or a sketch, side view works best): the part segmenter "
                        "finds its body, glass, wheels and lights, the car is moved onto the reference's place and "
                        "painted in the reference's part colours, and SinGAN turns that painting into a car.")
            with gr.Row():
                with gr.Column():
                    photo = gr.Image(label="Your car", type="filepath", sources=["upload"], height=220)
                    with gr.Row():
                        photo_inject = gr.Slider(1, 7, value=2, step=1, label="Injection scale")
                        photo_count = gr.Slider(1, MAX_SAMPLES, value=2, step=1, label="Samples")
                    photo_seed = seed_slider()
                    photo_button = gr.Button("Paint and generate", variant="primary")
                with gr.Column():
                    auto_painting = gr.Image(label="Automatic painting", format="png", interactive=False)
                    photo_gallery = gr.Gallery(label="Results", columns=2, format="png", object_fit="contain",
                                               height="auto")
                    studio.send_actions(photo_gallery)
            if segmenter_installed():
                gr.Examples(
                    [[default, str(p), 2, 2, 0] for p in sorted(EXAMPLES_DIR.glob("*.png"))],
                    [car, photo, photo_inject, photo_count, photo_seed], [auto_painting, photo_gallery],
                    # no request: cached example outputs belong to every session, not to one
                    fn=lambda *args: paint_from_photo(*args, {}, None), cache_examples=True, cache_mode="lazy",
                    label="Example cars (renders of other models)")
        with modes, gr.Tab("Random samples", id="sample"):
            with gr.Row():
                with gr.Column():
                    sample_count = gr.Slider(1, MAX_SAMPLES, value=4, step=1, label="Samples")
                    sample_seed = seed_slider()
                    width_scale = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Width scale")
                    start_scale = gr.Slider(0, 7, value=LAYOUT_START_SCALE, step=1, label="Start scale",
                                            info="0: from noise (texture, not a car); 1: keeps the car's layout "
                                                 "and varies it most; higher: closer to the reference")
                    sample_button = gr.Button("Sample", variant="primary")
                with gr.Column():
                    sample_gallery = gr.Gallery(label="Random samples", columns=2, format="png", object_fit="contain",
                                                height="auto")
                    studio.send_actions(sample_gallery)
            gr.Markdown("Samples start at scale 1: variations that keep the reference's layout. From noise "
                        "(start scale 0) they keep the reference's patches but not its global shape: as the seed "
                        "report found, SinGAN does not invent coherent new cars from noise alone.")
        with modes, gr.Tab("Train on your car", id="train"):
            gr.Markdown(
                f"Upload a side view of a car on a plain background (blank or one-colour pictures are refused: "
                f"there is nothing to learn from them). Training uses the fast mode (about "
                f"{TRAIN_TYPICAL_S // 60} minutes here). One job trains at a time: others wait in a queue of "
                f"{TRAINING.max_waiting} and are told their place and the wait; one job per session; each job is "
                f"stopped after {TRAIN_TIMEOUT_S // 60} minutes. **Your model and upload stay in this browser "
                f"session only and are deleted when it ends (or after {SESSION_TTL_S // 60} minutes); "
                f"nothing is kept across sessions or restarts.**")
            with gr.Row():
                upload = gr.Image(label="Your car", type="filepath", sources=["upload"], height=220)
                with gr.Column():
                    train_button = gr.Button("Train", variant="primary")
                    cancel_button = gr.Button("Cancel training")
                    train_status = gr.Markdown()

        shown = [reference, palette, sketch, inject, start_scale, photo_inject]
        demo.load(show_reference, [car, session_models], shown, api_name=False)
        # .input, not .change: a design restored from the Designs tab sets the car and its own settings,
        # which the reference's defaults must not overwrite
        car.input(show_reference, [car, session_models], shown, api_name="singan_reference")
        # preprocess=False: raw values reach carstudio.inputs, which checks them with clear messages
        paint_button.click(paint, [car, sketch, inject, count, seed, quantize, session_models], paint_gallery,
                           api_name="singan_paint", preprocess=False)
        photo_button.click(paint_from_photo, [car, photo, photo_inject, photo_count, photo_seed, session_models],
                           [auto_painting, photo_gallery], api_name="singan_paint_photo", preprocess=False)
        sample_button.click(sample, [car, sample_count, sample_seed, width_scale, start_scale, session_models],
                            sample_gallery, api_name="singan_sample", preprocess=False)
        train_button.click(train, [upload, session_models], [session_models, car, train_status],
                           api_name="singan_train", concurrency_limit=None,
                           preprocess=False,
                           ).success(show_reference, [car, session_models], shown, api_name="singan_trained_reference",
                                     api_visibility="private")
        cancel_button.click(cancel, None, train_status, api_name="singan_cancel", concurrency_limit=None)
        if segmenter_installed():
            studio.receiver("singan_photo", "SinGAN (paint from a photo)", "singan", photo, subtab=(modes, "photo"))
        studio.restorable(["singan_paint"], "singan", dict(car=car, inject_scale=inject, samples=count, seed=seed,
                                                           quantize=quantize),
                          computed=[(sketch, lambda values: editor_value(values["painting"]))], subtab=(modes, "paint"))
        studio.restorable(["singan_paint_photo"], "singan", dict(car=car, inject_scale=photo_inject,
                                                                 samples=photo_count, seed=photo_seed, photo=photo),
                          subtab=(modes, "photo"))
        studio.restorable(["singan_sample"], "singan", dict(car=car, samples=sample_count, seed=sample_seed,
                                                            width_scale=width_scale, start_scale=start_scale),
                          subtab=(modes, "sample"))
    return demo


if __name__ == "__main__":
    configure_app(create_demo()).launch(**launch_kwargs())
