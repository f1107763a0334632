"""CarStudio: one Gradio app, one tab per GAN method for assisted car design, joined into a studio
(spaces.studio: "send to" actions between tabs and the session's Designs)."""

from __future__ import annotations

import logging

from spaces.common import configure_app, launch_kwargs

import gradio as gr  # noqa: E402  (spaces.common sets the environment first)

from carstudio.hub import ModelUnavailable  # noqa: E402
from spaces import blend, layout, roigan, singan, sketch  # noqa: E402
from spaces.studio import Studio  # noqa: E402

# (tab key, title, create_demo) in the order shown; a tab appears only when its method is trained.
TABS = [
    ("singan", "SinGAN paint-to-car", singan.create_demo),
    ("sketch", "Sketch to car (SSGAN)", sketch.create_demo),
    ("layout", "Layout to car (StyleGAN + SPADE)", layout.create_demo),
    ("region", "Region edit (RoI-GAN)", roigan.create_demo),
    ("blend", "Futuristic blend (SN-GAN)", blend.create_demo),
]

INTRO = """# CarStudio
GAN tools for assisted car design. Every model here was trained on this project's own renders of
free 3D car models (TORCS and Trigger Rally, Free Art License / GPL-2+); see the README for data,
licences and how to train each model. Carry a result to another tab with the "Send to" buttons
under it; the Designs tab keeps this session's results and their settings."""


def build_demo() -> gr.Blocks:
    studio = Studio()
    with gr.Blocks(title="CarStudio") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs() as tabs:
            for key, title, create in TABS:
                with gr.Tab(title, id=key):
                    try:
                        create(studio=studio)
                    except ModelUnavailable as error:  # this tab only; the others keep working
                        gr.Markdown(f"**{title} is unavailable:** {error}")
            with gr.Tab("Designs", id="designs") as designs:
                studio.wire(tabs)
                studio.designs_tab(designs)
    return configure_app(demo)


if __name__ == "__main__":
    # Tracebacks of failed requests (see spaces.common.user_errors) go to the server log.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_demo().launch(**launch_kwargs())
