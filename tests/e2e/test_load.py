"""The load and soak script in its short mode: concurrent users, then sequential requests, against
a freshly started `python app.py`."""

from __future__ import annotations

from benchmarks.load import main


def test_short_load_and_soak_run_without_errors(tmp_path):
    report = main(["--short", "--json", str(tmp_path / "load.json")])
    (load,) = report["load"]
    assert load["errors"] == {} and load["ok"] == load["requests"] == 4 * 2
    soak = report["soak"]
    assert soak["errors"] == {} and soak["ok"] == 30 and soak["warm_up_requests"] < 30
    assert set(soak["latency_ms"]) >= {"/singan_sample", "/singan_paint"} or set(soak["latency_ms"]) >= {
        "/sketch_generate", "/sketch_mask"}
    assert soak["rss_growth_mb"] < 50
    # closing the client ends the session: its outputs and uploads are deleted
    assert soak["session_folder_deleted"]
    assert soak["temp_files_after"] < soak["temp_files_before_session_end"]
    # the training slot under contention (smoke preset: seconds per job)
    training = report["training"]
    assert training["queue_position"] == 1, training["queue_message"]
    assert training["queue_estimate_min"] >= 1
    assert "already have a training job" in training["same_session_second_job"]
    assert training["cancel_reply"] == "Cancelling…"
    assert "Training was cancelled" in training["first_job"]
    # the queued job was told its turn came once the first was cancelled, and ran to the end
    assert training["queued_job_started_after_cancel_s"] is not None and training["queued_job"] == "finished"
    meanwhile = training["requests_meanwhile"]
    assert meanwhile["ok"] >= 1 and meanwhile["errors"] == {}
    assert report["server_alive"]
    assert (tmp_path / "load.json").is_file()
