"""Committed contracts/build/ must equal what the pinned compiler makes of contracts/src/."""

from __future__ import annotations

import json
import shutil

from agreemint.chain.compiler import build_artifacts, drift
from agreemint.chain.paths import BUILD_DIR, NODE_MODULES, PROJECT_ROOT


def test_committed_artifacts_match_a_fresh_compile() -> None:
    assert shutil.which("node"), "node is required to recompile the contracts"
    assert (NODE_MODULES / "solc").exists(), "run `make node` (npm ci) first"
    artifacts = build_artifacts()
    assert drift(artifacts) == [], "contracts/build/ is stale: run `agreemint chain compile`"
    assert {"LabelToken", "RewardVault", "TimelockController"} <= set(artifacts)


def test_artifacts_pin_the_locked_compiler() -> None:
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    solc_version = lock["packages"]["node_modules/solc"]["version"]
    for path in BUILD_DIR.glob("*.json"):
        artifact = json.loads(path.read_text())
        assert artifact["compiler"]["version"].startswith(solc_version + "+commit")
        assert artifact["compiler"]["settings"]["evmVersion"] == "prague"
        assert artifact["sourceHash"].startswith("sha256:")
        assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 2
