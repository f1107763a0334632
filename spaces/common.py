"""What every tab shares: environment defaults, error mapping, seeds, launch settings."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent

# Before gradio is imported: no analytics, no hub look-ups unless a model is pointed at the hub,
# and temp files in the app's own folder (cleaned by Blocks(delete_cache=...)) unless the
# environment chose another folder (Docker deployments often do).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
if not any(k.startswith("CARSTUDIO_HUB_") for k in os.environ):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_TEMP_DIR", str(APP_DIR / ".gradio_tmp"))
# Where Gradio stores uploads and serves files from (gradio.utils.get_upload_folder reads the same
# variable): session outputs go here too, so Gradio serves them without a copy, and the session
# tracker looks for uploads here, wherever the environment put it.
TEMP_DIR = Path(os.environ["GRADIO_TEMP_DIR"]).resolve()
os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(TEMP_DIR / "examples"))

import gradio as gr  # noqa: E402

from carstudio.hub import ModelUnavailable  # noqa: E402
from carstudio.inputs import InvalidInput  # noqa: E402
from spaces.designs import Designs  # noqa: E402
from spaces.session_files import SessionFiles  # noqa: E402

LOG = logging.getLogger("carstudio")
MAX_SEED = 2**31 - 1
MAX_FILE_SIZE = "20mb"
QUEUE_SIZE = 32
# Delete files Gradio cached for outputs/uploads every 10 min once they are an hour old: the
# fallback for sessions that never end cleanly (see SessionFiles).
DELETE_CACHE = (600, 3600)
SESSION_FILES = SessionFiles(TEMP_DIR / "sessions", upload_root=TEMP_DIR)
DESIGNS = Designs(SESSION_FILES)  # every result of a session with its settings (the Designs tab)


def is_out_of_memory(error: BaseException) -> bool:
    """MemoryError, CUDA's OutOfMemoryError, or torch's CPU allocator failure (a RuntimeError)."""
    return (isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError"
            or "can't allocate memory" in str(error))


def user_errors(fn):
    """Turn the errors a person can act on into gr.Error (shown in the UI, AppError in the
    client); anything unexpected is logged with its traceback and answered with a short message
    that leaks no internals. The server keeps serving either way."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (InvalidInput, ModelUnavailable) as error:
            raise gr.Error(str(error)) from error
        except Exception as error:
            if is_out_of_memory(error):
                LOG.warning("out of memory in %s: %s", fn.__name__, error)
                raise gr.Error("Out of memory for this request: try fewer or smaller images.") from error
            LOG.exception("request failed in %s", fn.__name__)
            raise gr.Error(f"Sorry, this request failed ({type(error).__name__}); "
                           "the app is still running, please try again.") from error

    return wrapper


def session_scoped(fn):
    """For an event whose function takes `request: gr.Request`: records the uploads among its
    raw inputs and writes the images it returns into the session's own folder (see
    spaces.session_files), so both are deleted when the session ends. Called without a request
    (cached examples), it leaves the outputs to Gradio's shared cache."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        request = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
        if request is None:
            return fn(*args, **kwargs)
        SESSION_FILES.note_uploads(request, args, kwargs)
        return SESSION_FILES.outputs(request, fn(*args, **kwargs))

    return wrapper


DISPLAY_SIZE = 256  # the 64-px models' outputs are shown at this size


def enlarge(image, nearest: bool = False):
    """A model output (PIL) at DISPLAY_SIZE: nearest for label maps and masks, bicubic for cars."""
    from PIL import Image

    return image.resize((DISPLAY_SIZE, DISPLAY_SIZE), Image.NEAREST if nearest else Image.BICUBIC)


def seed_slider(label: str = "Seed", value: int = 0) -> gr.Slider:
    return gr.Slider(0, MAX_SEED, value=value, step=1, label=label)


def launch_kwargs() -> dict:
    """127.0.0.1 locally; 0.0.0.0 on a Hugging Face Space (which sets SPACE_ID)."""
    on_space = bool(os.environ.get("SPACE_ID"))
    return dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_space else "127.0.0.1"),
        max_file_size=MAX_FILE_SIZE,
        # Our handlers only raise gr.Error (see user_errors); what else reaches the user comes
        # from Gradio's own input checks (slider bounds, unreadable uploads), whose messages
        # name the input and the problem.
        show_error=True,
        footer_links=["api"],
    )


def end_session(request: gr.Request) -> None:
    DESIGNS.end(request)
    SESSION_FILES.end(request)


def configure_app(demo: gr.Blocks) -> gr.Blocks:
    """Settings of the served app (the whole app or one tab run alone)."""
    demo.delete_cache = DELETE_CACHE
    SESSION_FILES.shared = lambda: {p for b in demo.blocks.values() for p in getattr(b, "keep_in_cache", ())}
    with demo:
        demo.unload(end_session)
    # Two CPU cores: one model request at a time is fastest for everyone.
    return demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
