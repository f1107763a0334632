"""Run one training job at a time in a child process, with progress and cancel.

A child process keeps a long CPU job from starving the server's request threads of the GIL,
lets it be stopped at once (terminate), and a crash in it cannot take the server down.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch


class JobBusy(RuntimeError):
    """Another training job is running; the message is meant for the user."""


class JobFailed(RuntimeError):
    pass


class JobCancelled(RuntimeError):
    pass


class SingleJobRunner:
    """Runs `target(*args, report)` in a spawned process, one job per runner at a time.
    `report(fraction, message)` in the child becomes (fraction, message) items for the parent."""

    def __init__(self, busy_message: str = "A training job is already running; try again in a few minutes."):
        self._lock = threading.Lock()
        self._busy_message = busy_message
        self._cancel = threading.Event()
        self._owner: str | None = None

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def cancel(self, owner: str) -> bool:
        """Ask the job to stop if `owner` started it; True when a job was asked."""
        if self.busy and self._owner == owner:
            self._cancel.set()
            return True
        return False

    def run(self, owner: str, target: Callable, args: tuple, poll_seconds: float = 0.2,
            timeout_seconds: float | None = None) -> Iterator[tuple[float, str]]:
        if not self._lock.acquire(blocking=False):
            raise JobBusy(self._busy_message)
        threads = torch.get_num_threads()
        try:
            self._owner = owner
            self._cancel.clear()
            # The child trains on one core. Two torch threads in the server would then share a
            # busy core and spin-wait: inference measured 13x slower (794 vs 59 ms).
            torch.set_num_threads(1)
            yield from self._supervise(target, args, poll_seconds, timeout_seconds)
        finally:
            torch.set_num_threads(threads)
            self._owner = None
            self._lock.release()

    def _supervise(self, target, args, poll_seconds, timeout_seconds) -> Iterator[tuple[float, str]]:
        context = mp.get_context("spawn")
        messages = context.Queue()
        process = context.Process(target=_child_main, args=(target, args, messages), daemon=True)
        process.start()
        started = time.monotonic()
        try:
            while True:
                if self._cancel.is_set():
                    raise JobCancelled("Training was cancelled.")
                if timeout_seconds is not None and time.monotonic() - started > timeout_seconds:
                    raise JobFailed(f"Training took longer than {timeout_seconds:.0f} s and was stopped.")
                try:
                    kind, payload = messages.get(timeout=poll_seconds)
                except queue.Empty:
                    if not process.is_alive():
                        raise JobFailed(f"The training process stopped unexpectedly (exit code {process.exitcode}).")
                    continue
                if kind == "progress":
                    yield payload
                elif kind == "error":
                    raise JobFailed(payload)
                elif kind == "done":
                    return
        finally:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
            messages.close()


def _child_main(target: Callable, args: tuple, messages: Any) -> None:
    def report(fraction: float, message: str) -> None:
        messages.put(("progress", (float(fraction), str(message))))

    try:
        target(*args, report)
    except Exception as error:  # reported to the parent, which raises JobFailed
        messages.put(("error", f"{type(error).__name__}: {error}"))
    else:
        messages.put(("done", None))
