"""Settings: every key is documented in .env.example, and the file itself loads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from agreemint.config import ConsensusSettings, Settings
from agreemint.services.rounds import AGGREGATORS

ROOT = Path(__file__).resolve().parents[2]


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        default = field.default
        if isinstance(default, BaseModel):
            yield from keys(type(default), f"{prefix}{name.upper()}__")
        else:
            yield f"{prefix}{name.upper()}"


def example_keys() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_env_example_lists_every_setting() -> None:
    assert example_keys() == set(keys(Settings))


def test_env_example_loads_and_keeps_secrets_secret(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    env = (ROOT / ".env.example").read_text().replace("BOT__TOKEN=", "BOT__TOKEN=123:abc")
    (tmp_path / ".env").write_text(env)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.bot.token is not None
    assert settings.bot.token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings) and "123:abc" not in str(settings.model_dump())
    assert settings.database_url().startswith("sqlite+aiosqlite:///")


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB__URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("TASKS__GOLD_RATE", "0.25")
    settings = Settings(_env_file=None)
    assert settings.database_url() == "postgresql+asyncpg://u@h/db"
    assert settings.tasks.gold_rate == 0.25


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKS__GOLD_RATE", "2")
    with pytest.raises(ValueError, match="gold_rate"):
        Settings(_env_file=None)


def test_every_aggregator_setting_names_a_model_rounds_can_run() -> None:
    pattern = ConsensusSettings.model_fields["aggregator"].metadata[0].pattern
    match = re.fullmatch(r"\^\((.*)\)\$", pattern)
    assert match is not None
    allowed = set(match.group(1).split("|"))
    assert allowed == set(AGGREGATORS)  # a value the settings accept never fails at start-up
    for name in allowed:
        assert ConsensusSettings(aggregator=name).aggregator == name
    with pytest.raises(ValueError):
        ConsensusSettings(aggregator="crowdkit")
