"""Reading and changing a campaign's rules (services.rule_edit) and `agreemint campaign rules`.

A change is merged into `Campaign.rules`, checked as a whole by `parse_rules`, audited with the
old and new overrides, and the rule engine applies it from the next answer; a refused change
stores and audits nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import agreemint.campaign_cli
from agreemint.campaign_cli import campaign_app
from agreemint.config import Settings
from agreemint.errors import InvalidInput, NotFound
from agreemint.runtime import Services
from agreemint.services.campaign_control import Viewer
from agreemint.services.rule_edit import RuleEditor, changes, report
from agreemint.services.rules import RuleEngine
from agreemint.store.models import AuditEntry, Campaign
from tests.factories import make_campaign, make_workers


async def owned(services: Services) -> tuple[int, Viewer]:
    [owner] = await make_workers(services, 1, start=700)
    cid = await make_campaign(services)
    async with services.sessionmaker() as s:
        (await s.get_one(Campaign, cid)).owner_id = owner.id
        await s.commit()
    return cid, Viewer(owner.telegram_id, owner.id)


async def state(services: Services, cid: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with services.sessionmaker() as s:
        rules = (await s.get_one(Campaign, cid)).rules
        audited = list(await s.scalars(select(AuditEntry.data).where(
            AuditEntry.action == "campaign.rules_changed").order_by(AuditEntry.id)))
    return dict(rules or {}), audited


async def test_view_says_where_each_value_comes_from(services: Services) -> None:
    cid, owner = await owned(services)
    editor = RuleEditor(services.sessionmaker, {"too_fast": {"min_seconds": 2}})
    await editor.change(owner, cid, {"same_button": {"pause_at": 40}})
    view = await editor.view(owner, cid)
    fast, same, gold = view.rule("too_fast"), view.rule("same_button"), view.rule("gold_accuracy")
    assert (fast.source, fast.deployment, fast.condition) == ("deployment", {"min_seconds": 2.0},
                                                              "under 2 s")
    assert (same.source, same.campaign, same.condition) == ("campaign", {"pause_at": 40},
                                                            "15 / 40")
    assert same.action == "warning / paused 30 minutes"
    assert (gold.source, gold.values["window"]) == ("default", 20)
    assert same.source_text() == "overridden here: pause_at=40"
    assert "too_fast [deployment (TRUST__RULES): min_seconds=2]" in report(view)


async def test_change_merges_audits_and_the_engine_applies_it(
        services: Services, settings: Settings) -> None:
    cid, owner = await owned(services)
    editor = RuleEditor(services.sessionmaker)
    await editor.change(owner, cid, {"same_button": {"pause_at": 40}})
    before, after = await editor.change(owner, cid, {"same_button": {"warn_at": 30},
                                                     "daily_earnings": {"max_tokens": 5}})
    assert changes(before, after) == [("same_button", "warn_at", 15, 30),
                                      ("daily_earnings", "max_tokens", 0.0, 5.0)]
    rules, audited = await state(services, cid)
    assert rules == {"same_button": {"pause_at": 40, "warn_at": 30},
                     "daily_earnings": {"max_tokens": 5}}
    assert audited[-1] == {"rules": ["daily_earnings", "same_button"],
                           "old": {"same_button": {"pause_at": 40}}, "new": rules}
    async with services.sessionmaker() as s:
        engine = RuleEngine(settings.trust)
        applied = engine.rules_for(await s.get_one(Campaign, cid))
    assert (applied.same_button.warn_at, applied.same_button.pause_at) == (30, 40)
    assert applied.daily_earnings.max_wei == 5 * 10**18

    # Reset one rule, then all; a change that changes nothing is not stored or audited.
    await editor.change(owner, cid, reset=["same_button"])
    assert (await state(services, cid))[0] == {"daily_earnings": {"max_tokens": 5}}
    await editor.change(owner, cid, reset=["all"])
    before, after = await editor.change(owner, cid, reset=["all"])
    rules, audited = await state(services, cid)
    assert before == after and rules == {} and len(audited) == 4
    assert audited[-1] == {"rules": ["daily_earnings"], "new": {},
                           "old": {"daily_earnings": {"max_tokens": 5}}}


async def test_malformed_or_unauthorized_changes_nothing(services: Services) -> None:
    cid, owner = await owned(services)
    editor = RuleEditor(services.sessionmaker)
    await editor.change(owner, cid, {"same_button": {"pause_at": 40}})
    with pytest.raises(InvalidInput) as caught:
        # warn_at 45 clashes with the stored pause_at 40: the merged result is what is checked
        await editor.change(owner, cid, {"same_button": {"warn_at": 45},
                                         "too_fast": {"min_seconds": -1, "speed": 2},
                                         "nope": {}})
    text = caught.value.user_message
    for part in ("were not changed", "warn_at (45) must be below pause_at (40)",
                 "min_seconds must be a number ≥ 0, not -1", "too_fast has no field “speed”",
                 "unknown rule “nope”"):
        assert part in text
    with pytest.raises(InvalidInput, match="unknown rule “skip”"):
        await editor.change(owner, cid, reset=["skip"])
    with pytest.raises(InvalidInput, match="must be an object"):
        await editor.change(owner, cid, ["too_fast"])  # type: ignore[arg-type]
    [other] = await make_workers(services, 1, start=800)
    stranger = Viewer(other.telegram_id, other.id)
    for attempt in (editor.view(stranger, cid),
                    editor.change(stranger, cid, {"too_fast": {"enabled": False}}),
                    editor.view(owner, cid + 1)):
        with pytest.raises(NotFound, match="is not one of yours"):
            await attempt
    await editor.change(Viewer(1, None, admin=True), cid, {"too_fast": {"enabled": False}})
    rules, audited = await state(services, cid)
    assert rules == {"same_button": {"pause_at": 40}, "too_fast": {"enabled": False}}
    assert len(audited) == 2


async def test_rules_broken_outside_the_app_show_and_can_be_reset(services: Services) -> None:
    cid, owner = await owned(services)
    async with services.sessionmaker() as s:
        (await s.get_one(Campaign, cid)).rules = {"too_fast": {"min_seconds": "soon"}}
        await s.commit()
    editor = RuleEditor(services.sessionmaker)
    view = await editor.view(owner, cid)
    assert view.problem is not None and "min_seconds must be a number" in view.problem
    assert view.rule("too_fast").source == "default"
    await editor.change(owner, cid, reset=["too_fast"])
    assert (await editor.view(owner, cid)).problem is None


def test_cli_prints_sets_refuses_and_resets(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    monkeypatch.setattr(agreemint.campaign_cli, "get_settings", lambda: settings)
    items = tmp_path / "items.csv"
    items.write_text("id,text\nt1,a\nt2,b\n")
    cli = CliRunner()
    made = cli.invoke(campaign_app, ["import", str(items), "--name", "Pets", "--labels", "a,b"])
    assert made.exit_code == 0, made.output

    shown = cli.invoke(campaign_app, ["rules", "1"])
    assert shown.exit_code == 0, shown.output
    assert "skips_in_row [default]\n  skips in a row -> 10 -> paused 30 minutes" in shown.output

    done = cli.invoke(campaign_app, ["rules", "1", "--set", '{"skips_in_row": {"count": 3}}'])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("changed:\n  skips_in_row.count: 10 -> 3\n")
    assert "skips_in_row [overridden here: count=3]" in done.output

    bad = cli.invoke(campaign_app, ["rules", "1", "--set",
                                    '{"skips_in_row": {"count": -1}, "fast": {}}'])
    assert bad.exit_code == 1
    assert "skips_in_row.count must be a whole number ≥ 0, not -1" in bad.output
    assert "unknown rule “fast”" in bad.output
    assert cli.invoke(campaign_app, ["rules", "1", "--set", "{count: 3"]).exit_code == 2
    assert cli.invoke(campaign_app, ["rules", "9"]).output == "There is no campaign 9.\n"

    back = cli.invoke(campaign_app, ["rules", "1", "--reset", "skips_in_row"])
    assert back.exit_code == 0 and "skips_in_row.count: 3 -> 10" in back.output
    with sqlite3.connect(tmp_path / "agreemint.sqlite3") as conn:
        rows = conn.execute("SELECT actor, entity_id, data FROM audit_log WHERE action = "
                            "'campaign.rules_changed' ORDER BY id").fetchall()
    assert [(actor, entity, json.loads(data)["new"]) for actor, entity, data in rows] == [
        ("operator", "1", {"skips_in_row": {"count": 3}}), ("operator", "1", {})]
