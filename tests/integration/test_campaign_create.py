"""CampaignService.create with the manager's settings, on both database backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agreemint.domain import CampaignStatus
from agreemint.errors import InvalidInput
from agreemint.runtime import Services
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import parse_items
from agreemint.store.models import Campaign
from tests.factories import make_campaign, make_workers

DEADLINE = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)


async def test_draft_keeps_every_setting(services: Services, tmp_path: Path) -> None:
    (owner,) = await make_workers(services, 1)
    path = tmp_path / "pets.csv"
    path.write_text("id,text,gold\na,a cat,\nb,a dog,\ng,kitten,cat\n")
    items = parse_items(path, ("cat", "dog"), media_dir=tmp_path / "media", local_images=False)
    spec = CampaignSpec(name="Pets", instructions="Pick.", options=("cat", "dog"), overlap=2,
                        max_overlap=5, target_confidence=0.95, gold_rate=0.2, deadline=DEADLINE,
                        owner_id=owner.id, reward_rate_micro=50_000)
    cid = await services.campaigns.create(spec, items, activate=False, budget_wei=123)
    async with services.sessionmaker() as s:
        row = await s.get_one(Campaign, cid)
    assert (row.status, row.max_overlap, row.target_confidence, row.gold_rate) == (
        CampaignStatus.DRAFT, 5, 0.95, 0.2)
    assert row.deadline == DEADLINE and row.owner_id == owner.id and row.budget_wei == 123
    assert await services.tasks.next_task(owner.id) is None  # drafts hand out nothing


async def test_existing_callers_still_get_an_active_campaign(services: Services) -> None:
    cid = await make_campaign(services)
    assert cid in await services.campaigns.active_ids()


@pytest.mark.parametrize(("change", "problem"), [
    ({"max_overlap": 1}, "maximum overlap"),
    ({"target_confidence": 1.0}, "target confidence"),
    ({"gold_rate": 1.5}, "gold share"),
    ({"deadline": datetime(2027, 1, 1)}, "time zone"),
])
def test_spec_rules(change: dict[str, object], problem: str) -> None:
    base: dict[str, object] = {"name": "P", "instructions": "", "options": ("a", "b"),
                               "overlap": 2}
    with pytest.raises(InvalidInput, match=problem):
        CampaignSpec(**{**base, **change}).check()  # type: ignore[arg-type]


def test_a_chat_upload_cannot_point_at_server_files(tmp_path: Path) -> None:
    path = tmp_path / "sneaky.csv"
    path.write_text("id,image\na,/etc/passwd\n")
    with pytest.raises(InvalidInput):
        parse_items(path, ("a", "b"), media_dir=tmp_path / "media", local_images=False)
