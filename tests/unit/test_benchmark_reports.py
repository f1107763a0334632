"""The benchmark reports that the docs quote: every JSON carries the machine's state, and the install
benchmark's size counts each file once."""

from __future__ import annotations

import json
import os

from benchmarks.install import folder_bytes
from benchmarks.timing import write_report


def test_report_records_the_load_average_it_was_measured_under(tmp_path):
    path = tmp_path / "bench.json"
    write_report({"x_ms": {"median": 1.0}}, path)
    report = json.loads(path.read_text())
    assert report["x_ms"] == {"median": 1.0}
    machine = report["machine"]
    assert machine["cpu_count"] == os.cpu_count()
    assert abs(machine["load_average_1min"] - os.getloadavg()[0]) < 2.0
    assert machine["date"] and machine["command"]


def test_report_keeps_a_machine_state_it_was_given(tmp_path):
    path = tmp_path / "bench.json"
    write_report({"machine": {"load_average_1min": 9.5}}, path)
    assert json.loads(path.read_text())["machine"] == {"load_average_1min": 9.5}


def test_no_path_writes_nothing(tmp_path):
    write_report({"a": 1}, None)
    assert list(tmp_path.iterdir()) == []


def test_folder_bytes_counts_hard_links_once_and_skips_symlinks(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 300)
    os.link(tmp_path / "a.bin", tmp_path / "sub" / "a_again.bin")
    (tmp_path / "sub" / "link.bin").symlink_to(tmp_path / "a.bin")
    assert folder_bytes(tmp_path) == 1300
