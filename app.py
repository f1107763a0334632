"""CarStudio: one Gradio app, one tab per GAN method for assisted car design."""

from __future__ import annotations

import logging

from spaces.common import configure_app, launch_kwargs

import gradio as gr  # noqa: E402  (spaces.common sets the environment first)

from carstudio.hub import ModelUnavailable  # noqa: E402
from spaces import blend, layout, roigan, singan, sketch  # noqa: E402

# (tab title, create_demo) in the order shown; a tab appears only when its method is trained.
TABS = [
    ("SinGAN paint-to-car", singan.create_demo),
    ("Sketch to car (SSGAN)", sketch.create_demo),
    ("Layout to car (StyleGAN + SPADE)", layout.create_demo),
    ("Region edit (RoI-GAN)", roigan.create_demo),
    ("Futuristic blend (SN-GAN)", blend.create_demo),
]

INTRO = """# CarStudio
GAN tools for assisted car design. Every model here was trained on this project's own renders of
free 3D car models (TORCS and Trigger Rally, Free Art License / GPL-2+); see the README for data,
licences and how to train each model."""


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="CarStudio") as demo:
        gr.Markdown(INTRO)
        for title, create in TABS:
            with gr.Tab(title):
                try:
                    create()
                except ModelUnavailable as error:  # this tab only; the others keep working
                    gr.Markdown(f"**{title} is unavailable:** {error}")
    return configure_app(demo)


if __name__ == "__main__":
    # Tracebacks of failed requests (see spaces.common.user_errors) go to the server log.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_demo().launch(**launch_kwargs())
