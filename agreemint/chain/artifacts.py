"""Loading the committed contract artifacts from contracts/build/ (no node needed at runtime)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agreemint.chain.errors import ChainConfigError
from agreemint.chain.paths import BUILD_DIR


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    compiler_version: str
    source_hash: str


@cache
def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> Artifact:
    """The artifact `<build_dir>/<name>.json`; raises ChainConfigError when it is missing."""
    path = build_dir / f"{name}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ChainConfigError(
            f"missing contract artifact {path}; run `agreemint chain compile`"
        ) from exc
    return Artifact(
        name=raw["contractName"],
        abi=raw["abi"],
        bytecode=raw["bytecode"],
        compiler_version=raw["compiler"]["version"],
        source_hash=raw["sourceHash"],
    )
