"""`agreemint demo` end to end: anvil + sandbox + bot + simulated crowd, summary and JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_pays_verified_work_and_the_chain_agrees(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agreemint.cli", "demo", "--workers", "6", "--items", "20",
         "--overlap", "5", "--seed", "3", "--json", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["items"] == 15  # 20 sample rows, 5 of them gold questions
    assert summary["items_labeled"] == 15
    assert summary["accuracy"] >= 0.8
    workers = summary["workers"]
    assert len(workers) == 6 and workers[-1]["profile"] == "spammer"
    assert sum(w["answers"] for w in workers) == summary["answers"]
    # every token in the ledger is in the wallets, and the vault's events say the same
    assert summary["match"] is True
    assert summary["ledger_paid"] == summary["onchain_paid"] > 0
    # JSON carries token floats; exact wei equality is what "match" checked
    assert abs(sum(w["tokens_paid"] for w in workers) - summary["ledger_paid"]) < 1e-9
    careful, spammer = workers[0], workers[-1]
    assert careful["tokens_paid"] > spammer["tokens_paid"]
    assert spammer["withheld"] > spammer["answers"] / 2  # told why, not paid
    assert all(w["onchain_balance"] == w["tokens_paid"] for w in workers)
    assert careful["payout_messages"] >= 1  # the worker was told when the payout landed
    assert (tmp_path / "demo.sqlite3").exists() and (tmp_path / "anvil-state.json").exists()
    assert any("match" in line for line in lines)
