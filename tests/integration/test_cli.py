"""The `agreemint` command line, run as a user would (a subprocess with its own environment)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def agreemint(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BOT__", "DB__", "CHAIN__", "TASKS__", "CONSENSUS__"))}
    return subprocess.run(
        [sys.executable, "-m", "agreemint.cli", *args], cwd=cwd, capture_output=True,
        text=True, timeout=120, env={**clean, "DATA_DIR": str(cwd / "data"), **env},
        check=False,
    )


def test_run_without_token_says_what_to_do(tmp_path: Path) -> None:
    result = agreemint("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT__TOKEN is not set" in result.stderr
    assert "agreemint demo" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was created


def test_db_upgrade_and_campaign_import(tmp_path: Path) -> None:
    result = agreemint("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    db = tmp_path / "data" / "agreemint.sqlite3"
    assert db.exists()
    items = tmp_path / "items.csv"
    items.write_text("id,text,gold\n1,a cat,\n2,a dog,dog\n")
    result = agreemint("campaign", "import", str(items), "--name", "Pets", "--labels",
                       "cat,dog", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "with 2 items" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name, status, overlap FROM campaigns").fetchall() == [
            ("Pets", "active", 3)]
        assert conn.execute("SELECT count(*) FROM items WHERE is_gold").fetchone() == (1,)


def test_campaign_import_refuses_bad_file_and_changes_nothing(tmp_path: Path) -> None:
    assert agreemint("db", "upgrade", cwd=tmp_path).returncode == 0
    items = tmp_path / "items.csv"
    items.write_text("id,text,gold\n1,a cat,\n2,,\n3,x,horse\n")
    result = agreemint("campaign", "import", str(items), "--name", "Pets", "--labels",
                       "cat,dog", cwd=tmp_path)
    assert result.returncode == 1
    assert "line 3" in result.stderr and "line 4" in result.stderr
    with sqlite3.connect(tmp_path / "data" / "agreemint.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)
    result = agreemint("campaign", "import", str(items), "--name", "Pets", "--labels", "cat",
                       cwd=tmp_path)
    assert result.returncode == 1 and "at least two labels" in result.stderr
