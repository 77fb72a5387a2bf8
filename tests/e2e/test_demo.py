"""`agreemint demo` end to end: the printed summary and its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_command_labels_items_and_reports_workers(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agreemint.cli", "demo", "--workers", "4", "--items", "20",
         "--seed", "3", "--json", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["items"] == 15  # 20 sample rows, 5 of them gold questions
    assert summary["items_labeled"] == 15
    assert summary["accuracy"] >= 0.7
    workers = summary["workers"]
    assert len(workers) == 4 and workers[-1]["profile"] == "spammer"
    assert sum(w["answers"] for w in workers) == summary["answers"]
    careful, spammer = workers[0], workers[-1]
    # the consensus engine sees who is careful and who taps at random
    assert careful["estimated_quality"] > spammer["estimated_quality"]
    assert (tmp_path / "demo.sqlite3").exists()
    assert any("items labeled" in line for line in lines)
