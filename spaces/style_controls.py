"""The style controls of the sketch and layout tabs (issue 19): paint the body a chosen colour, or
take the style from an example car.

A paint colour only means something to a palette-conditioned generator
(`carstudio.pipelines.palettes`); an example car styles a palette generator (its palette is
measured on the picture) or a renderer with a style encoder (SPADE's, the layout tab's 64-px
renderer: the picture's style code). The controls are hidden until the page's load event has
asked the tab's loaded model what it takes, so nobody is shown a colour picker that cannot work.
An API caller who sends a colour or an example car to a model that takes none gets a clear error
rather than a silently ignored setting. An example car is any picture with content: the part
segmenter, trained on renders only, finds a "body" in nearly anything, so a picture that is not
a car gives its colours rather than an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from carstudio.data.palette import parse_colour
from carstudio.hub import ModelUnavailable
from carstudio.inputs import InvalidInput, check_choice, check_has_content, downscale_to, open_image

DEFAULT_PAINT = "#1f5fbf"
STYLE_LABEL = "Style: paint colour and example car"
EXAMPLE_SIDE = 256  # example cars are measured at most this large: a palette is a mean colour per part


@dataclass
class StyleChoice:
    """What a request asked for: the body colour ('#rrggbb') and the example car (the picture
    measured, at most EXAMPLE_SIDE), each None when not asked for."""

    body_colour: str | None = None
    example: Image.Image | None = None

    def settings(self) -> dict[str, Any]:
        """For the Designs panel (the example car goes with the design's input pictures)."""
        return {"body_colour": self.body_colour}

    def inputs(self) -> dict[str, Image.Image]:
        return {} if self.example is None else {"example_car": self.example}

    def caption(self) -> str:
        parts = ([f"body {self.body_colour}"] if self.body_colour else []) + \
            (["style of the example car"] if self.example is not None else [])
        return "".join(f", {p}" for p in parts)


@dataclass
class StyleControls:
    group: gr.Accordion
    paint_row: gr.Row
    paint_body: gr.Checkbox
    paint_colour: gr.ColorPicker
    example_car: gr.Image

    @property
    def inputs(self) -> list[gr.components.Component]:
        """The event inputs, in the order `read_style` takes them (appended to the tab's own, so
        API callers who leave them out get the defaults: the style seed's paint, no example)."""
        return [self.paint_body, self.paint_colour, self.example_car]

    def show_when_loaded(self, demo: gr.Blocks, takes: Callable[[], tuple[bool, bool]]) -> None:
        """On page load, show the colour when `takes()` says (colour, example)[0], the example car
        when [1]; `takes` loads the tab's model (hidden when it cannot be loaded). An example car
        alone (the 64-px layout renderer's style encoder) comes in a closed accordion: it is a
        secondary control there, and the upload box is large."""

        def visibility():
            try:
                colour, example = takes()
            except ModelUnavailable:
                colour = example = False
            group = gr.update(visible=colour or example, open=colour,
                              label=STYLE_LABEL if colour else "Style from an example car")
            return group, gr.update(visible=colour), gr.update(visible=example)

        demo.load(visibility, None, [self.group, self.paint_row, self.example_car], api_name=False,
                  show_progress="hidden", queue=False)

    def restored(self) -> list[tuple[gr.components.Component, Callable[[dict], Any]]]:
        """`computed` pairs for Studio.restorable: a design restores with its colour and example."""
        return [(self.paint_body, lambda values: values["body_colour"] is not None),
                (self.paint_colour, recorded_colour),
                (self.example_car, lambda values: values.get("example_car"))]


def recorded_colour(values: dict) -> str:
    """The design's body colour; KeyError (the picker keeps its value) when it had none."""
    if values["body_colour"] is None:
        raise KeyError("body_colour")
    return values["body_colour"]


def style_controls(elem_prefix: str, example_label: str) -> StyleControls:
    """The controls, hidden until `show_when_loaded` finds that the model takes them."""
    with gr.Accordion(STYLE_LABEL, open=True, visible=False,
                      elem_id=f"{elem_prefix}-style") as group:
        with gr.Row(visible=False) as paint_row:
            paint_body = gr.Checkbox(False, label="Paint the body in this colour (off: the style seed's paint)",
                                     elem_id=f"{elem_prefix}-paint-body")
            paint_colour = gr.ColorPicker(DEFAULT_PAINT, label="Body colour", elem_id=f"{elem_prefix}-paint-colour")
        example_car = gr.Image(label=example_label, type="filepath", sources=("upload",), format="png", height=160,
                               visible=False, elem_id=f"{elem_prefix}-example-car")
    return StyleControls(group, paint_row, paint_body, paint_colour, example_car)


def paint_colour_hex(value: Any) -> str:
    """The colour picker's value ('#rrggbb', or 'rgb(r, g, b)' from an API caller) as '#rrggbb'."""
    if not isinstance(value, str):
        raise InvalidInput(f"Body colour must be a colour such as '#1f5fbf' or 'rgb(31, 95, 191)', got {value!r}.")
    try:
        return "#%02x%02x%02x" % parse_colour(value)
    except ValueError as error:
        raise InvalidInput(f"Body colour: {error}.") from error


def read_style(paint_body: Any, paint_colour: Any, example_car: Any, *, takes_colour: bool,
               takes_example: bool) -> StyleChoice:
    """The style controls' raw values, checked; refused with a message when the model cannot use
    them. The colour is read only when "paint the body" is ticked."""
    choice = StyleChoice()
    if check_choice(paint_body, "Paint the body in this colour", (False, True)):
        if not takes_colour:
            raise InvalidInput("This model takes no paint colour (its generator is not palette-conditioned): "
                               "untick 'Paint the body in this colour'.")
        choice.body_colour = paint_colour_hex(paint_colour)
    if example_car not in (None, ""):
        if not takes_example:
            raise InvalidInput("This model takes no example car (it is neither palette-conditioned nor has a "
                               "style encoder): leave 'Style from an example car' empty.")
        picture = downscale_to(open_image(example_car), EXAMPLE_SIDE)
        choice.example = check_has_content(picture, "The example car")
    return choice
