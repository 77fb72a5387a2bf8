"""Creating campaigns and loading their items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from agreemint.config import TrustSettings
from agreemint.domain import (
    MAX_LABEL_CHARS,
    MAX_SELECTION_OPTIONS,
    SEPARATOR,
    CampaignStatus,
    TaskType,
    canonical_label,
)
from agreemint.errors import InvalidInput, NotFound
from agreemint.services.audit import audit
from agreemint.services.itemfile import ItemSpec
from agreemint.services.training import training_size
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Campaign, Item


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """What a manager decides for a campaign."""

    name: str
    instructions: str
    options: tuple[str, ...]
    overlap: int = 3
    reward_rate_micro: int = 0
    task_type: TaskType = TaskType.SINGLE_CHOICE
    gold_rate: float | None = None
    # Dynamic overlap: items below `target_confidence` get more answers, up to `max_overlap`
    # (None = no extra answers: the maximum is `overlap`).
    max_overlap: int | None = None
    target_confidence: float = 0.9
    deadline: datetime | None = None
    owner_id: int | None = None  # the manager's worker id
    # Qualification: gold questions a newcomer answers first (None = the operator's default,
    # at most half the campaign's gold) and the share they must get right.
    training_questions: int | None = None
    training_pass: float | None = None

    def check(self) -> None:
        """Raise InvalidInput listing every rule the spec breaks."""
        problems = []
        if not self.name.strip():
            problems.append("the name is empty")
        problems += self._label_problems()
        if not 1 <= self.overlap <= 100:
            problems.append("overlap must be between 1 and 100")
        if self.max_overlap is not None and not self.overlap <= self.max_overlap <= 100:
            problems.append("the maximum overlap must be between the minimum and 100")
        if not 0.5 <= self.target_confidence < 1.0:
            problems.append("the target confidence must be at least 0.5 and below 1")
        if self.gold_rate is not None and not 0.0 <= self.gold_rate <= 1.0:
            problems.append("the gold share must be between 0 and 1")
        if self.deadline is not None and self.deadline.tzinfo is None:
            problems.append("the deadline needs a time zone")
        if self.reward_rate_micro < 0:
            problems.append("the reward rate cannot be negative")
        if self.training_questions is not None and not 0 <= self.training_questions <= 50:
            problems.append("training takes 0-50 questions")
        if self.training_pass is not None and not 0.0 <= self.training_pass <= 1.0:
            problems.append("the training pass mark must be between 0 and 1")
        if problems:
            raise InvalidInput("The campaign is not valid: " + "; ".join(problems) + ".")

    def _label_problems(self) -> list[str]:
        """Free text takes no labels; multiple choice: 2-10 labels without "+" (the selection
        separator) whose joined selection fits an answer (200 characters)."""
        if self.task_type == TaskType.FREE_TEXT:
            return ["free-text tasks take no labels"] if self.options else []
        problems = []
        if len(self.options) < 2:
            problems.append("at least two labels are needed")
        if len(set(self.options)) != len(self.options):
            problems.append("labels repeat")
        if any(not o.strip() or len(o) > 64 for o in self.options):
            problems.append("each label needs 1-64 characters")
        if self.task_type == TaskType.MULTIPLE_CHOICE:
            if len(self.options) > MAX_SELECTION_OPTIONS:
                problems.append(f"multiple choice takes at most {MAX_SELECTION_OPTIONS} labels")
            if any(SEPARATOR.strip() in o for o in self.options):
                problems.append(f'multiple-choice labels cannot contain "{SEPARATOR.strip()}"')
            if len(SEPARATOR.join(self.options)) > MAX_LABEL_CHARS:
                problems.append(f"all labels together (joined by \"{SEPARATOR}\") must fit in "
                                f"{MAX_LABEL_CHARS} characters")
        return problems


class GoldLabels(tuple[str, ...]):
    """The campaign's labels as an item importer checks gold against (`gold in options`):
    multiple choice accepts any selection ("cat + dog", in any order), free text any short
    text. `CampaignService.create` then stores gold in canonical form."""

    task_type: str

    def __new__(cls, task_type: str, options: tuple[str, ...]) -> GoldLabels:
        self = super().__new__(cls, options)
        self.task_type = task_type
        return self

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and (
            canonical_label(self.task_type, tuple(self), label) is not None)


def gold_options(task_type: str, options: tuple[str, ...]) -> tuple[str, ...]:
    """What to pass as `options` to `parse_items` for a campaign of this type."""
    if task_type in (TaskType.MULTIPLE_CHOICE, TaskType.FREE_TEXT):
        return GoldLabels(task_type, options)
    return options


class CampaignService:
    """Campaign life cycle (creation here; funding and control come with the manager tools)."""

    def __init__(self, sessionmaker: SessionMaker, trust: TrustSettings | None = None) -> None:
        self._sm = sessionmaker
        self._trust = trust or TrustSettings()

    def _training(self, spec: CampaignSpec, gold: int) -> tuple[int, float]:
        """Training size (see `training_size`) and pass mark."""
        mark = self._trust.training_pass if spec.training_pass is None else spec.training_pass
        return training_size(self._trust, gold, spec.training_questions), mark

    async def create(
        self, spec: CampaignSpec, items: list[ItemSpec], *, actor: str = "operator",
        activate: bool = True, budget_wei: int = 0,
    ) -> int:
        """Store a campaign with all its items in one transaction; returns its id.

        `activate=False` leaves it a draft: no tasks until funding activates it.
        """
        spec.check()
        if not items:
            raise InvalidInput("A campaign needs at least one item.")
        golds = {i.gold_label: canonical_label(spec.task_type, spec.options, i.gold_label)
                 for i in items if i.gold_label is not None}
        wrong = sorted(g for g, c in golds.items() if c is None)
        if wrong:
            raise InvalidInput(f"Gold labels that are not possible answers: {', '.join(wrong)}.")
        training, mark = self._training(spec, sum(i.gold_label is not None for i in items))
        async with self._sm() as session:
            campaign = Campaign(
                training_questions=training,
                training_pass=mark,
                name=spec.name.strip(),
                instructions=spec.instructions.strip(),
                task_type=spec.task_type,
                label_options=list(spec.options),
                overlap=spec.overlap,
                max_overlap=spec.max_overlap,
                target_confidence=spec.target_confidence,
                deadline=spec.deadline,
                owner_id=spec.owner_id,
                budget_wei=budget_wei,
                reward_rate_micro=spec.reward_rate_micro,
                gold_rate=spec.gold_rate,
                status=CampaignStatus.ACTIVE if activate else CampaignStatus.DRAFT,
            )
            session.add(campaign)
            await session.flush()
            session.add_all(
                Item(
                    campaign_id=campaign.id,
                    external_id=i.external_id,
                    kind=i.kind,
                    text=i.text,
                    photo=i.photo,
                    gold_label=golds[i.gold_label] if i.gold_label is not None else None,
                    is_gold=i.gold_label is not None,
                    gold_source="file" if i.gold_label is not None else None,
                    hint=i.hint,
                )
                for i in items
            )
            audit(session, "campaign.created", "campaign", campaign.id, actor=actor,
                  name=campaign.name, items=len(items), overlap=spec.overlap,
                  labels=list(spec.options), task_type=spec.task_type, max_overlap=spec.max_overlap,
                  rate_micro=spec.reward_rate_micro, budget_wei=str(budget_wei),
                  status=campaign.status, owner_id=spec.owner_id, training=training,
                  training_pass=mark)
            await session.commit()
            return campaign.id

    async def set_owner(self, campaign_id: int, owner_id: int, *, actor: str = "operator"
                        ) -> int | None:
        """Hand a campaign to a manager (worker id): they see and control it in chat from then
        on. Returns the previous owner."""
        async with self._sm() as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"There is no campaign #{campaign_id}.")
            previous, campaign.owner_id = campaign.owner_id, owner_id
            if previous != owner_id:
                audit(session, "campaign.owner_set", "campaign", campaign_id, actor=actor,
                      owner_id=owner_id, previous=previous)
            await session.commit()
            return previous

    async def active_ids(self) -> list[int]:
        """Campaigns that are handing out tasks."""
        async with self._sm() as session:
            rows = await session.scalars(
                select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE)
            )
            return list(rows)

    async def progress(self, campaign_id: int) -> tuple[int, int]:
        """(items resolved, regular items in total)."""
        async with self._sm() as session:
            row = (
                await session.execute(
                    select(func.count(), func.count().filter(Item.resolved.is_(True))).where(
                        Item.campaign_id == campaign_id, Item.is_gold.is_(False)
                    )
                )
            ).one()
            return int(row[1]), int(row[0])
