import threading
import time

import pytest

from carstudio.train.jobs import STARTING, JobBusy, JobCancelled, JobFailed, SingleJobRunner


def counting_job(steps, report):
    for i in range(steps):
        report((i + 1) / steps, f"step {i + 1}")


def slow_job(seconds, report):
    report(0.0, "started")
    time.sleep(seconds)


def failing_job(report):
    raise ValueError("bad image")


class Caller(threading.Thread):
    """Runs one job in a thread and keeps every message it got and how it ended."""

    def __init__(self, runner, owner, target, args, **kwargs):
        super().__init__(daemon=True)
        self.runner, self.owner, self.target, self.args, self.kwargs = runner, owner, target, args, kwargs
        self.messages, self.outcome = [], None
        self.started_job = threading.Event()

    def run(self):
        try:
            for _, message in self.runner.run(self.owner, self.target, self.args, **self.kwargs):
                self.messages.append(message)
                if message == "started":
                    self.started_job.set()
            self.outcome = "done"
        except Exception as error:  # noqa: BLE001  (the test reads which)
            self.outcome = error


def wait_for(condition, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not condition():
        time.sleep(0.05)
    return condition()


def test_progress_cancel_and_failure():
    runner = SingleJobRunner()
    assert [m for _, m in runner.run("a", counting_job, (3,))] == ["step 1", "step 2", "step 3"]

    first = Caller(runner, "a", slow_job, (30,))
    first.start()
    assert first.started_job.wait(60)
    assert not runner.cancel("b")  # only the owner can cancel
    assert runner.cancel("a")
    first.join(30)
    assert isinstance(first.outcome, JobCancelled) and not runner.busy

    with pytest.raises(JobFailed, match="ValueError: bad image"):
        list(runner.run("c", failing_job, ()))
    assert not runner.busy


def test_a_second_job_waits_its_turn_and_is_told_its_place():
    runner = SingleJobRunner(max_waiting=2, typical_seconds=300)
    first = Caller(runner, "a", slow_job, (3,))
    first.start()
    assert first.started_job.wait(60)
    second = Caller(runner, "b", counting_job, (2,))
    second.start()
    assert wait_for(lambda: runner.position("b") == 1 and second.messages)
    assert second.messages[0].startswith("Waiting for the training slot: you are number 1 in the queue")
    assert "minutes to go" in second.messages[0]
    # one job per session, queued or running
    with pytest.raises(JobBusy, match="already have a training job"):
        next(runner.run("a", counting_job, (1,)))
    with pytest.raises(JobBusy, match="already have a training job"):
        next(runner.run("b", counting_job, (1,)))
    third = Caller(runner, "c", counting_job, (1,))
    third.start()
    assert wait_for(lambda: runner.position("c") == 2)
    with pytest.raises(JobBusy, match="queue is full"):
        next(runner.run("d", counting_job, (1,)))
    assert runner.cancel("c")  # leaves the queue without running
    third.join(30)
    assert isinstance(third.outcome, JobCancelled) and runner.position("c") is None
    first.join(60)
    second.join(60)
    assert first.outcome == "done" and second.outcome == "done"
    # told when its turn came, then ran after the first job, in full
    assert second.messages[-3:] == [STARTING, "step 1", "step 2"]
    assert not runner.busy and runner.position("b") is None


def test_the_wait_estimate_follows_the_running_jobs_progress():
    runner = SingleJobRunner(typical_seconds=600)
    runner._started, runner._fraction = time.monotonic() - 60, 0.5  # half done after a minute
    assert 55 < runner.estimated_wait(1) < 65
    assert 655 < runner.estimated_wait(2) < 665


def test_a_job_over_its_time_cap_is_stopped():
    runner = SingleJobRunner()
    with pytest.raises(JobFailed, match="time cap"):
        list(runner.run("a", slow_job, (30,), timeout_seconds=1))
    assert not runner.busy
