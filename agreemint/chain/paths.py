"""Where the repository keeps its contracts and node tools (editable install or source checkout)."""

from __future__ import annotations

from pathlib import Path

# agreemint/chain/paths.py -> repository root
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
SOURCES_DIR = CONTRACTS_DIR / "src"
BUILD_DIR = CONTRACTS_DIR / "build"
COMPILE_DRIVER = CONTRACTS_DIR / "compile.js"
NODE_MODULES = PROJECT_ROOT / "node_modules"
# The real binary, not node_modules/.bin/anvil: that is a Node wrapper, and signalling the
# wrapper's PID can orphan the anvil process it spawned.
ANVIL_BINARY = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
