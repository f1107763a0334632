"""Run one training job at a time in a child process, with a fair queue, progress and cancel.

A child process keeps a long CPU job from starving the server's request threads of the GIL,
lets it be stopped at once (terminate), and a crash in it cannot take the server down.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import torch


class JobBusy(RuntimeError):
    """The job cannot be queued (the caller already has one, or the queue is full); the message is
    meant for the user."""


class JobFailed(RuntimeError):
    pass


class JobCancelled(RuntimeError):
    pass


STARTING = "Your turn: the training is starting."


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


class SingleJobRunner:
    """Runs `target(*args, report)` in a spawned process, one job at a time, first come first served.

    A job asked for while another runs waits in a queue (at most `max_waiting`), and its caller is
    told its place and an estimate of the wait; each owner (a session) has at most one job, queued
    or running. `report(fraction, message)` in the child becomes (fraction, message) items for the
    parent. `typical_seconds` is the estimate of a job's length until one has finished here.
    """

    def __init__(self, max_waiting: int = 4, typical_seconds: float = 600.0):
        self.max_waiting = max_waiting
        self._typical_seconds = typical_seconds
        self._condition = threading.Condition()
        self._waiting: list[str] = []
        self._cancelled: set[str] = set()
        self._owner: str | None = None
        self._started = 0.0
        self._fraction = 0.0

    @property
    def busy(self) -> bool:
        return self._owner is not None

    def position(self, owner: str) -> int | None:
        """0 while `owner`'s job runs, n while it is n-th in the queue, None without a job."""
        with self._condition:
            if self._owner == owner:
                return 0
            return self._waiting.index(owner) + 1 if owner in self._waiting else None

    def cancel(self, owner: str) -> bool:
        """Stop `owner`'s job, or take it out of the queue; True when there was one."""
        with self._condition:
            if self._owner != owner and owner not in self._waiting:
                return False
            self._cancelled.add(owner)
            self._condition.notify_all()
            return True

    def estimated_wait(self, position: int) -> float:
        """Seconds until the job at `position` (1 = next) starts: what the running job has left
        (from its progress when it has reported some) plus one typical job per job ahead."""
        elapsed = time.monotonic() - self._started
        if self._fraction >= 0.05:
            left = elapsed / self._fraction - elapsed
        else:
            left = self._typical_seconds - elapsed
        return max(0.0, left) + (position - 1) * self._typical_seconds

    def run(self, owner: str, target: Callable, args: tuple, poll_seconds: float = 0.2,
            timeout_seconds: float | None = None) -> Iterator[tuple[float, str]]:
        """Queue the job, then run it: yields (0, "waiting…") while queued, then the job's progress.
        Raises JobBusy when it cannot be queued, JobCancelled, or JobFailed."""
        with self._condition:
            if self._owner == owner or owner in self._waiting:
                raise JobBusy("You already have a training job queued or running; wait for it or cancel it first.")
            if len(self._waiting) >= self.max_waiting:
                raise JobBusy(f"The training queue is full ({self.max_waiting} waiting); please try again later.")
            self._waiting.append(owner)
            self._cancelled.discard(owner)
        threads = torch.get_num_threads()
        try:
            waited = yield from self._wait_for_turn(owner, poll_seconds)
            if waited:  # else the queue message would stand until the child's first report (seconds)
                yield 0.0, STARTING
            # The child trains on one core. Two torch threads in the server would then share a
            # busy core and spin-wait: inference measured 13x slower (794 vs 59 ms).
            torch.set_num_threads(1)
            started = time.monotonic()
            for fraction, message in self._supervise(owner, target, args, poll_seconds, timeout_seconds):
                self._fraction = fraction
                yield fraction, message
            # the estimate of the next waits follows the jobs this machine actually ran
            self._typical_seconds = 0.5 * self._typical_seconds + 0.5 * (time.monotonic() - started)
        finally:
            torch.set_num_threads(threads)
            with self._condition:
                if owner in self._waiting:
                    self._waiting.remove(owner)
                if self._owner == owner:
                    self._owner = None
                self._cancelled.discard(owner)
                self._condition.notify_all()

    def _wait_for_turn(self, owner: str, poll_seconds: float) -> Generator[tuple[float, str], None, bool]:
        """Yields queue messages until `owner`'s job holds the slot; returns whether it waited."""
        told = None
        while True:
            with self._condition:
                if owner in self._cancelled:
                    raise JobCancelled("Training was cancelled.")
                if self._owner is None and self._waiting[0] == owner:
                    self._waiting.pop(0)
                    self._owner, self._started, self._fraction = owner, time.monotonic(), 0.0
                    return told is not None
                position = self._waiting.index(owner) + 1
                message = (f"Waiting for the training slot: you are number {position} in the queue, "
                           f"{_minutes(self.estimated_wait(position))} to go.")
            if message != told:
                told = message
                yield 0.0, message
            with self._condition:
                self._condition.wait(timeout=max(poll_seconds, 1.0))

    def _supervise(self, owner, target, args, poll_seconds, timeout_seconds) -> Iterator[tuple[float, str]]:
        context = mp.get_context("spawn")
        messages = context.Queue()
        process = context.Process(target=_child_main, args=(target, args, messages), daemon=True)
        process.start()
        started = time.monotonic()
        try:
            while True:
                if owner in self._cancelled:
                    raise JobCancelled("Training was cancelled.")
                if timeout_seconds is not None and time.monotonic() - started > timeout_seconds:
                    raise JobFailed(f"Training reached the time cap of {timeout_seconds / 60:.0f} minutes "
                                    "per job and was stopped.")
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
