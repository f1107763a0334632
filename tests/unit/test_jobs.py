import threading
import time

import pytest

from carstudio.train.jobs import JobBusy, JobCancelled, JobFailed, SingleJobRunner


def counting_job(steps, report):
    for i in range(steps):
        report((i + 1) / steps, f"step {i + 1}")


def slow_job(seconds, report):
    report(0.0, "started")
    time.sleep(seconds)


def failing_job(report):
    raise ValueError("bad image")


def test_progress_busy_cancel_and_failure():
    runner = SingleJobRunner("busy, try later")
    assert [m for _, m in runner.run("a", counting_job, (3,))] == ["step 1", "step 2", "step 3"]

    started = threading.Event()
    outcome = {}

    def first():
        try:
            for _ in runner.run("a", slow_job, (30,)):
                started.set()
        except JobCancelled as error:
            outcome["cancelled"] = str(error)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(60)
    with pytest.raises(JobBusy, match="busy, try later"):
        next(runner.run("b", counting_job, (1,)))
    assert not runner.cancel("b")  # only the owner can cancel
    assert runner.cancel("a")
    thread.join(30)
    assert "cancelled" in outcome and not runner.busy

    with pytest.raises(JobFailed, match="ValueError: bad image"):
        list(runner.run("c", failing_job, ()))
    assert not runner.busy
