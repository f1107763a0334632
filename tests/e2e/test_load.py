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
    training = report["training"]
    assert training["training"] == "finished" and "one at a time" in training["second_training_job"]
    assert training["requests_meanwhile"] is None or training["requests_meanwhile"]["errors"] == {}
    assert report["server_alive"]
    assert (tmp_path / "load.json").is_file()
