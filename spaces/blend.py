"""Futuristic blend tab (seed 001): the codes of an everyday car and a futuristic car are averaged,
w = α·x + (1 − α)·y, and decoded by the SN-GAN fine-tuned on concept cars (whole D; FreezeD is an option).

How the codes travel between events: in one gr.State per session, {"everyday": [z...],
"futuristic": [z...]}, written by sample/encode and read by blend/strip. API callers need no code
of their own: a gradio_client.Client keeps one session, so `blend_sample` or `blend_encode`
followed by `blend` works as in the browser (and a fresh session that calls `blend` first is
told to pick the cars). The codes never leave the server, so nothing a caller sends is decoded
but seeds, images and numbers the tab checks.

Named endpoints: blend_sample(domain, seed, refine steps) -> (car, reconstruction);
blend_encode(domain, image, refine steps) -> (prepared picture, reconstruction, note); blend(α) ->
(car, novelty); blend_strip(frames) -> gallery. An upload is prepared before it is encoded
(`carstudio.pipelines.car_placement`): the car found, framed as the training renders frame their
cars and put on a backdrop the GAN knows; the prepared picture (what the encoder sees) is shown
beside the reconstruction, and the note says what was done (or that no car was found). The futuristic column's buttons run the same functions
(domain "futuristic") as browser-only events.

    python -m spaces.blend [--generator DIR --everyday DIR --encoder DIR --novelty DIR]
"""

from __future__ import annotations

import argparse
import functools

from spaces.common import (APP_DIR, DESIGNS, configure_app, enlarge, launch_kwargs, seed_slider, session_scoped,
                           user_errors)
from spaces.studio import Studio

import gradio as gr  # noqa: E402  (spaces.common sets the environment first)

from carstudio.hub import WEIGHTS_DIR, LazyModel, ModelUnavailable  # noqa: E402
from carstudio.inputs import open_image  # noqa: E402
from carstudio.metrics.novelty import NOVELTY_WEIGHTS  # noqa: E402
from carstudio.pipelines.blend import (  # noqa: E402
    ENCODER_WEIGHTS,
    EVERYDAY,
    EVERYDAY_WEIGHTS,
    FUTURISTIC,
    FUTURISTIC_WEIGHTS,
    MAX_FRAMES,
    MAX_REFINE_STEPS,
    MIN_FRAMES,
    FuturisticBlendPipeline,
    strip_alphas,
)

EXAMPLES_DIR = APP_DIR / "examples" / "blend"  # held-out renders: {domain}_{car}.png
ALPHA_LABEL = "α: the everyday car's weight (1 = the everyday car, 0 = the futuristic car)"


def shipped_pipeline() -> LazyModel[FuturisticBlendPipeline]:
    missing = [n for n in (FUTURISTIC_WEIGHTS, EVERYDAY_WEIGHTS, ENCODER_WEIGHTS) if not (WEIGHTS_DIR / n).is_dir()]
    if missing:
        raise ModelUnavailable(f"Futuristic blend needs weights/{' and weights/'.join(missing)}, "
                               "which are not installed.")
    return LazyModel(FuturisticBlendPipeline.from_pretrained, lambda pipe: pipe(alpha=0.5, frames=2))


def preparation_note(note: str) -> str:
    return f"**Prepared:** {note}" if note else ""


def with_code(codes: dict | None, domain: str, code) -> dict:
    """The session's codes with `domain`'s replaced (a new dict: gr.State keeps what it is given)."""
    return {**(codes or {}), domain: code.flatten().tolist()}


def create_demo(pipeline: LazyModel[FuturisticBlendPipeline] | None = None, studio: Studio | None = None) -> gr.Blocks:
    pipeline = shipped_pipeline() if pipeline is None else pipeline
    studio = studio or Studio()

    @user_errors
    @session_scoped
    def blend_sample(domain, seed, refine_steps, codes, request: gr.Request):
        car = pipeline.get().car_from_seed(domain, seed, refine_steps)
        return enlarge(car.image), enlarge(car.reconstruction), with_code(codes, domain, car.code)

    @user_errors
    @session_scoped
    def blend_encode(domain, upload, refine_steps, codes, request: gr.Request):
        pipe = pipeline.get()
        domain, steps = pipe.check_domain(domain), pipe.check_refine_steps(refine_steps)
        car = pipe.car_from_image(open_image(upload), steps)
        return (enlarge(car.image), enlarge(car.reconstruction), preparation_note(car.prepared.note),
                with_code(codes, domain, car.code))

    def blend_and_novelty(alpha, codes, request=None) -> tuple:
        """The blend and its novelty; with a request (a person's action) it is kept as a design, with
        the two codes it blended, which are its settings as much as α is."""
        pipe, codes = pipeline.get(), codes or {}
        image = pipe.blend(codes.get(EVERYDAY), codes.get(FUTURISTIC), alpha)
        DESIGNS.add(request, "blend", "blend", dict(alpha=float(alpha), codes=codes), [image])
        return enlarge(image), pipe.describe_novelty(image)

    @user_errors
    @session_scoped
    def blend(alpha, codes, request: gr.Request):
        return blend_and_novelty(alpha, codes, request)

    @user_errors
    @session_scoped
    def refresh_blend(alpha, codes, request: gr.Request):
        """After a car is picked: the blend once both are, silently nothing before."""
        if not codes or EVERYDAY not in codes or FUTURISTIC not in codes:
            return gr.skip(), gr.skip()
        return blend_and_novelty(alpha, codes, request)

    @user_errors
    @session_scoped
    def blend_strip(frames, codes, request: gr.Request):
        pipe, codes = pipeline.get(), codes or {}
        frames = pipe.check_frames(frames)
        images = pipe.strip(codes.get(EVERYDAY), codes.get(FUTURISTIC), frames)
        DESIGNS.add(request, "blend", "blend_strip", dict(frames=frames, codes=codes), images)
        return [(enlarge(image), f"α = {alpha:.2f}") for image, alpha in zip(images, strip_alphas(frames))]

    @user_errors
    @session_scoped
    def start(everyday_seed, futuristic_seed, refine_steps, alpha, request: gr.Request):
        """The page's first view: both cars from their seeds and their blend."""
        pipe = pipeline.get()
        everyday = pipe.car_from_seed(EVERYDAY, everyday_seed, refine_steps)
        futuristic = pipe.car_from_seed(FUTURISTIC, futuristic_seed, refine_steps)
        codes = with_code(with_code({}, EVERYDAY, everyday.code), FUTURISTIC, futuristic.code)
        return (enlarge(everyday.image), enlarge(everyday.reconstruction), enlarge(futuristic.image),
                enlarge(futuristic.reconstruction), codes, *blend_and_novelty(alpha, codes))

    with gr.Blocks() as demo:
        gr.Markdown(
            "### Futuristic blend (SN-GAN fine-tuned on concept cars + ResNet-18 encoder)\n"
            "Pick an everyday car and a futuristic car: "
            "sample each by seed, or upload a picture and encode it. The encoder finds the car's latent code and "
            "the reconstruction shows what the GAN makes of that code. The two codes are averaged, "
            "w = α·x + (1 − α)·y (x: the everyday car, y: the futuristic car), and drawn by the GAN fine-tuned on "
            "concept cars: **α = 1 is the everyday car, α = 0 the futuristic one.** The novelty figure says how far "
            "the blend is from the cars the GANs were trained on. The models work at 64×64 pixels. An upload "
            "is prepared first: the car is found, framed as in the training renders and put on a backdrop the GAN "
            "knows; the prepared picture (what the encoder sees) is shown beside the reconstruction.")
        codes = gr.State({})
        columns = {}
        with gr.Row():
            for domain, title in ((EVERYDAY, "Everyday car (x)"), (FUTURISTIC, "Futuristic car (y)")):
                with gr.Column():
                    gr.Markdown(f"#### {title}")
                    # the column's domain, sent with its events (API callers choose it)
                    name = gr.Textbox(domain, visible=False, label="Domain (everyday or futuristic)")
                    car = gr.Image(label="Car: sampled, or upload one", type="filepath", format="png",
                                   sources=["upload", "clipboard"], height=256, elem_id=f"blend-{domain}-car")
                    examples = sorted(EXAMPLES_DIR.glob(f"{domain}_*.png"))
                    if examples:
                        gr.Examples([[str(p)] for p in examples], [car], examples_per_page=len(examples),
                                    label="Held-out renders (cars never seen in training): pick one, then encode it")
                    with gr.Row():
                        seed = seed_slider(f"{domain.capitalize()} seed", value=0 if domain == EVERYDAY else 1)
                        sample_button = gr.Button("Sample", elem_id=f"blend-{domain}-sample")
                    encode_button = gr.Button("Encode the picture above", elem_id=f"blend-{domain}-encode")
                    with gr.Row():
                        prepared = gr.Image(label="Prepared upload (what the encoder sees)", format="png",
                                            interactive=False, height=256, elem_id=f"blend-{domain}-prepared")
                        reconstruction = gr.Image(label="What the blend decodes at this end (encoder's "
                                                  "reconstruction)", format="png", interactive=False, height=256)
                    note = gr.Markdown(elem_id=f"blend-{domain}-note")
                    columns[domain] = (name, car, seed, sample_button, encode_button, reconstruction, prepared, note)
        # 20 steps halve the reconstruction error of the shipped encoder for ~0.2 s a car (docs/sngan.md)
        refine = gr.Slider(0, MAX_REFINE_STEPS, value=20, step=1,
                           label="Refinement steps (encoder code improved by optimizing the reconstruction; slower)")
        with gr.Row():
            with gr.Column():
                alpha = gr.Slider(0, 1, value=0.5, step=0.05, label=ALPHA_LABEL, elem_id="blend-alpha")
                blended = gr.Image(label="Blend", format="png", interactive=False, height=256,
                                   elem_id="blend-result")
                novelty = gr.Markdown(label="Novelty", elem_id="blend-novelty")
                studio.send_actions(blended)
            with gr.Column():
                with gr.Row():
                    frames = gr.Slider(MIN_FRAMES, MAX_FRAMES, value=8, step=1, label="Strip frames")
                    strip_button = gr.Button("Show the strip (α from 1 to 0)")
                strip = gr.Gallery(label="Everyday → futuristic", columns=4, format="png", object_fit="contain",
                                   height="auto", elem_id="blend-strip")
                studio.send_actions(strip)

        # preprocess=False: raw values reach the pipeline and carstudio.inputs, which check them
        # with clear messages. The everyday column's events carry the public names.
        for domain, (name, car, seed, sample_button, encode_button, reconstruction, prepared, note) in columns.items():
            public = domain == EVERYDAY
            visibility = "public" if public else "private"
            sampled = sample_button.click(
                blend_sample, [name, seed, refine, codes], [car, reconstruction, codes],
                api_name="blend_sample" if public else f"blend_sample_{domain}", api_visibility=visibility,
                preprocess=False,
            )
            sampled.success(refresh_blend, [alpha, codes], [blended, novelty], api_name=f"blend_refresh_{domain}_sample",
                            api_visibility="private", preprocess=False)
            # a sampled car has no upload: an earlier upload's preparation would stand beside its reconstruction
            sampled.success(lambda: (None, ""), None, [prepared, note], api_name=f"blend_clear_{domain}_prepared",
                            api_visibility="private", queue=False)
            encode_button.click(
                blend_encode, [name, car, refine, codes], [prepared, reconstruction, note, codes],
                api_name="blend_encode" if public else f"blend_encode_{domain}", api_visibility=visibility,
                preprocess=False,
            ).success(refresh_blend, [alpha, codes], [blended, novelty], api_name=f"blend_refresh_{domain}_encode",
                      api_visibility="private", preprocess=False)
        def encode_sent(event, name, car, reconstruction, prepared, note, domain) -> None:
            """A car sent from another tab is encoded at once, and re-blended."""
            event.success(blend_encode, [name, car, refine, codes], [prepared, reconstruction, note, codes],
                          api_name=f"blend_encode_sent_{domain}", api_visibility="private", preprocess=False,
                          ).success(refresh_blend, [alpha, codes], [blended, novelty],
                                    api_name=f"blend_refresh_sent_{domain}", api_visibility="private",
                                    preprocess=False)

        for domain, (name, car, _, _, _, reconstruction, prepared, note) in columns.items():
            studio.receiver(f"blend_{domain}", f"Futuristic blend ({domain} car)", "blend", car,
                            after=functools.partial(encode_sent, name=name, car=car, reconstruction=reconstruction,
                                                    prepared=prepared, note=note, domain=domain))
        studio.restorable(["blend"], "blend", dict(alpha=alpha, codes=codes))
        studio.restorable(["blend_strip"], "blend", dict(frames=frames, codes=codes))
        alpha.release(blend, [alpha, codes], [blended, novelty], api_name="blend", preprocess=False)
        strip_button.click(blend_strip, [frames, codes], strip, api_name="blend_strip", preprocess=False)
        demo.load(start, [columns[EVERYDAY][2], columns[FUTURISTIC][2], refine, alpha],
                  [columns[EVERYDAY][1], columns[EVERYDAY][5], columns[FUTURISTIC][1], columns[FUTURISTIC][5], codes,
                   blended, novelty], api_name="blend_start", api_visibility="private", preprocess=False)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the futuristic blend tab alone.")
    parser.add_argument("--generator", default=FUTURISTIC_WEIGHTS, help="fine-tuned G: weights name or folder")
    parser.add_argument("--everyday", default=EVERYDAY_WEIGHTS, help="everyday G: weights name or folder")
    parser.add_argument("--encoder", default=ENCODER_WEIGHTS, help="encoder: weights name or folder")
    parser.add_argument("--novelty", default=NOVELTY_WEIGHTS, help="novelty bank: weights name or folder")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    models = (args.generator, args.everyday, args.encoder, args.novelty)
    chosen = None  # the shipped weights, checked before the app starts
    if models != (FUTURISTIC_WEIGHTS, EVERYDAY_WEIGHTS, ENCODER_WEIGHTS, NOVELTY_WEIGHTS):
        chosen = LazyModel(lambda: FuturisticBlendPipeline.from_pretrained(*models))
    configure_app(create_demo(chosen)).launch(**launch_kwargs())
