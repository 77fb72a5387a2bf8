"""Compile contracts/src with solc-js (through node) and write the committed artifacts.

Each artifact in contracts/build/<Name>.json holds the ABI, creation and runtime bytecode, the
exact compiler version and settings, and a hash of every source that went into the build
(ours and OpenZeppelin's), so a drift test can recompile and compare byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from agreemint.chain.paths import BUILD_DIR, COMPILE_DRIVER, PROJECT_ROOT, SOURCES_DIR

# Pinned so that bytecode is reproducible; solc 0.8.37 defaults to osaka, which not every local
# chain or tool understands yet, and prague gives the same code for these contracts.
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "prague",
    "viaIR": True,
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
    },
}

# OpenZeppelin contracts we deploy as they are; their artifacts are committed beside ours.
DEPLOYED_DEPENDENCIES = frozenset({"TimelockController"})


class CompilationError(RuntimeError):
    """solc reported errors, or node could not run it."""


def _standard_input(sources_dir: Path) -> dict[str, Any]:
    sources = {
        path.relative_to(PROJECT_ROOT).as_posix(): {"content": path.read_text(encoding="utf-8")}
        for path in sorted(sources_dir.rglob("*.sol"))
    }
    return {"language": "Solidity", "sources": sources, "settings": COMPILER_SETTINGS}


def run_solc(standard_input: dict[str, Any]) -> dict[str, Any]:
    """Run the node driver on a standard-JSON input and return the parsed output."""
    node = shutil.which("node")
    if node is None:
        raise CompilationError("node is not installed; it runs the solc-js compiler")
    proc = subprocess.run(
        [node, str(COMPILE_DRIVER)],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise CompilationError(f"solc-js driver failed: {proc.stderr.strip()}")
    output: dict[str, Any] = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    return output


def compiler_version() -> str:
    """The solc-js version string, e.g. 0.8.37+commit.f401782d.Emscripten.clang."""
    proc = subprocess.run(
        ["node", str(COMPILE_DRIVER), "--version"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    )
    return proc.stdout.strip()


def _source_hash(metadata: dict[str, Any]) -> str:
    """sha256 over the keccak of every source unit the contract was built from."""
    digests = {path: info["keccak256"] for path, info in sorted(metadata["sources"].items())}
    return "sha256:" + hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()


def build_artifacts(sources_dir: Path = SOURCES_DIR) -> dict[str, dict[str, Any]]:
    """Compile and return {contract name: artifact} for every contract defined in our sources."""
    output = run_solc(_standard_input(sources_dir))
    version = compiler_version()
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in output["contracts"].items():
        for name, compiled in contracts.items():
            bytecode = compiled["evm"]["bytecode"]["object"]
            if not bytecode or not _wanted(source_name, name):
                continue
            metadata = json.loads(compiled["metadata"])
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "compiler": {"version": version, "settings": _artifact_settings()},
                "sourceHash": _source_hash(metadata),
                "abi": compiled["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            }
    return artifacts


def _wanted(source_name: str, name: str) -> bool:
    """Our own contracts, plus the OpenZeppelin ones deployments instantiate (not libraries)."""
    return source_name.startswith("contracts/") or name in DEPLOYED_DEPENDENCIES


def _artifact_settings() -> dict[str, Any]:
    return {k: v for k, v in COMPILER_SETTINGS.items() if k != "outputSelection"}


def render(artifact: dict[str, Any]) -> str:
    """The exact text committed for an artifact (stable key order, trailing newline)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(
    artifacts: dict[str, dict[str, Any]], build_dir: Path = BUILD_DIR
) -> list[Path]:
    """Replace build_dir's artifacts with `artifacts`; returns the written paths."""
    build_dir.mkdir(parents=True, exist_ok=True)
    for stale in build_dir.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = build_dir / f"{name}.json"
        path.write_text(render(artifact), encoding="utf-8")
        written.append(path)
    return written


def drift(artifacts: dict[str, dict[str, Any]], build_dir: Path = BUILD_DIR) -> list[str]:
    """Names whose committed artifact differs from `artifacts` (or is missing or extra)."""
    committed = {p.stem for p in build_dir.glob("*.json")}
    changed = sorted(committed ^ set(artifacts))
    for name, artifact in artifacts.items():
        path = build_dir / f"{name}.json"
        if path.exists() and path.read_text(encoding="utf-8") != render(artifact):
            changed.append(name)
    return sorted(set(changed))
