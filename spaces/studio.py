"""What joins the tabs into one studio (UI only, no model code):

- "Send to" actions under results: a car picture goes to the tabs that take one (Region edit's
  editor, the Futuristic blend's everyday or futuristic car, encoded at once, SinGAN's "Paint from
  a photo"), the sketch tab's part mask to the layout editor; the receiving tab opens with it in
  place. Browser-only events: API callers pass the files themselves (README, "API").
- The Designs tab: the session's results (spaces.designs) newest first; one is restored into its
  tab's controls, or all are downloaded as a zip.

Tabs declare what they send and receive while they build (`send_actions`, `receiver`,
`restorable`); `wire` connects them once every tab exists. A tab run alone gets a Studio that is
never wired: its send rows stay empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from spaces.common import DESIGNS, TEMP_DIR, user_errors

CAR, LAYOUT = "car", "layout"  # what a result is, so it is offered to the tabs that take it


@dataclass
class Receiver:
    label: str
    kind: str
    tab: str
    component: gr.components.Component
    to_value: Callable[[str], Any]  # picture path -> the component's value
    subtab: tuple[gr.Tabs, str] | None = None  # (the tab's inner tabs, the one to open)
    after: Callable[[Any], Any] | None = None  # chains the tab's own follow-up (e.g. encode) on the event


@dataclass
class Sender:
    source: gr.Image | gr.Gallery
    kind: str
    row: gr.Row
    selected: gr.State | None  # a gallery's chosen item (the first until one is clicked)


@dataclass
class Restorer:
    tab: str
    # (control, design values -> its value; KeyError: the design has no value for it)
    controls: list[tuple[gr.components.Component, Callable[[dict], Any]]]
    subtab: tuple[gr.Tabs, str] | None = None


def editor_value(path: str) -> dict:
    """An ImageEditor/Sketchpad value whose picture is `path`."""
    return {"background": path, "layers": [], "composite": path}


def as_is(value: Any) -> Any:
    return value


def selected_index(event: gr.SelectData) -> int:
    return event.index


def picture_path(value: Any, index: int | None = None) -> str:
    """The file of an Image's raw value, or of a Gallery's item `index` (raw values: preprocess=False),
    refused unless it is one of the files Gradio serves (never an arbitrary path on the server)."""
    if isinstance(value, list):
        if not value:
            raise gr.Error("There is no result to send yet: generate one first.")
        value = value[min(max(index or 0, 0), len(value) - 1)]
        value = value.get("image", value) if isinstance(value, dict) else value[0]
    path = value.get("path") if isinstance(value, dict) else value
    if not isinstance(path, str) or not Path(path).resolve().is_relative_to(TEMP_DIR):
        raise gr.Error("There is no result to send yet: generate one first.")
    return path


class Studio:
    def __init__(self):
        self.tabs: gr.Tabs | None = None
        self.receivers: dict[str, Receiver] = {}
        self.senders: list[Sender] = []
        self.restorers: dict[str, Restorer] = {}  # by action (api_name)

    def send_actions(self, source: gr.Image | gr.Gallery, kind: str = CAR) -> None:
        """A row of "send to" buttons under `source` (filled by `wire`)."""
        if source.interactive is None:
            source.interactive = False  # an event input would otherwise turn a result into an upload box
        selected = None
        if isinstance(source, gr.Gallery):
            selected = gr.State(0)
            source.select(selected_index, None, selected, api_name=False, show_progress="hidden",
                          api_visibility="private", queue=False)
        self.senders.append(Sender(source, kind, gr.Row(), selected))

    def receiver(self, key: str, label: str, tab: str, component, kind: str = CAR,
                 to_value: Callable[[str], Any] = as_is, subtab=None, after=None) -> None:
        self.receivers[key] = Receiver(label, kind, tab, component, to_value, subtab, after)

    def restorable(self, actions: list[str], tab: str, controls: dict[str, Any], computed=(), subtab=None) -> None:
        """`controls`: setting name -> its component; `computed`: (component, function of the design's
        values (settings and input pictures' paths) giving its value) pairs."""
        pairs = [(c, (lambda values, n=n: values[n])) for n, c in controls.items()] + list(computed)
        for action in actions:
            self.restorers[action] = Restorer(tab, pairs, subtab)

    def wire(self, tabs: gr.Tabs) -> None:
        """Add the send buttons and connect them; call inside the app's Blocks, after every tab."""
        self.tabs = tabs
        for number, sender in enumerate(self.senders):
            with sender.row:
                for key, receiver in self.receivers.items():
                    if receiver.kind == sender.kind:
                        self._send_button(number, sender, key, receiver)

    def _send_button(self, number: int, sender: Sender, key: str, receiver: Receiver) -> None:
        button = gr.Button(f"Send to {receiver.label}", size="sm", min_width=80, variant="secondary",
                           elem_id=f"{sender.source.elem_id or f'result-{number}'}-to-{key}")
        outputs = [self.tabs, receiver.component] + ([receiver.subtab[0]] if receiver.subtab else [])

        @user_errors
        def send(value, index=0):
            picked = [gr.Tabs(selected=receiver.tab), receiver.to_value(picture_path(value, index))]
            return picked + ([gr.Tabs(selected=receiver.subtab[1])] if receiver.subtab else [])

        inputs = [sender.source] + ([sender.selected] if sender.selected else [])
        event = button.click(send, inputs, outputs, api_name=f"send_{number}_to_{key}", api_visibility="private",
                             preprocess=False, concurrency_limit=None, show_progress="hidden")
        if receiver.after:
            receiver.after(event)

    def designs_tab(self, tab: gr.Tab) -> None:
        """The Designs tab's contents (refreshed whenever it is opened); call inside `tab` after `wire`."""
        gr.Markdown(
            f"Every result you generate in this session, newest first (the last {DESIGNS.limit}), with the tab, "
            "the seed and every setting that made it. Choose one and restore its settings into its tab to "
            "reproduce it (same settings, same picture) or vary it. The download holds the pictures at the "
            "resolution the model made them and a JSON of their settings. Nothing is kept after the session.")
        ids = gr.State([])
        chosen = gr.State(None)
        with gr.Row():
            refresh = gr.Button("Refresh", size="sm")
            restore = gr.Button("Restore its settings in its tab", variant="primary", elem_id="designs-restore")
            export = gr.Button("Download all (zip)", elem_id="designs-export")
        with gr.Row():
            gallery = gr.Gallery(label="Designs (newest first)", columns=6, format="png", object_fit="contain",
                                 height="auto", elem_id="designs-gallery", allow_preview=False)
            with gr.Column():
                settings = gr.JSON(label="Settings of the chosen design", elem_id="designs-settings")
                archive = gr.File(label="Designs (zip)", elem_id="designs-zip")

        def show(request: gr.Request):
            designs = DESIGNS.list(request)
            return ([(d.pictures[0], f"{d.tab}: {d.title}") for d in designs], [d.id for d in designs],
                    None, None)

        def choose(ids_shown: list[str], request: gr.Request, event: gr.SelectData):
            design = DESIGNS.get(request, ids_shown[event.index]) if event.index < len(ids_shown) else None
            return (design.id, {"tab": design.tab, "action": design.action, **design.settings}) if design else \
                (None, None)

        restorers = list(self.restorers.values())
        controls = list({id(c): c for r in restorers for c, _ in r.controls}.values())
        subtabs = list({id(r.subtab[0]): r.subtab[0] for r in restorers if r.subtab}.values())

        @user_errors
        def restore_design(design_id, request: gr.Request):
            design = DESIGNS.get(request, design_id) if design_id else None
            if design is None or design.action not in self.restorers:
                raise gr.Error("Choose a design in the list first.")
            restorer = self.restorers[design.action]
            values, updates = {**design.settings, **design.inputs}, {}
            for component, value_of in restorer.controls:
                try:
                    updates[id(component)] = value_of(values)
                except KeyError:
                    pass
            opened = {id(restorer.subtab[0]): gr.Tabs(selected=restorer.subtab[1])} if restorer.subtab else {}
            return ([gr.Tabs(selected=restorer.tab)] + [updates.get(id(c), gr.skip()) for c in controls]
                    + [opened.get(id(t), gr.skip()) for t in subtabs])

        @user_errors
        def export_designs(request: gr.Request):
            path = DESIGNS.export(request)
            if path is None:
                raise gr.Error("No designs yet: generate a result in any tab first.")
            return path

        shown = [gallery, ids, chosen, settings]
        refresh.click(show, None, shown, api_name="designs_list", api_visibility="private")
        tab.select(show, None, shown, api_name="designs_opened", api_visibility="private")
        gallery.select(choose, ids, [chosen, settings], api_name="designs_choose", api_visibility="private")
        restore.click(restore_design, chosen, [self.tabs, *controls, *subtabs], api_name="designs_restore",
                      api_visibility="private")
        export.click(export_designs, None, archive, api_name="designs_export")
