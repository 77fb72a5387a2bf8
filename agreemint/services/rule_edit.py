"""Managers read and change a campaign's trust rules (`Campaign.rules`, see services.rules).

The effective rules are the built-in defaults, under the deployment's `TRUST__RULES`, under the
campaign's own overrides; the view says for every field where its value comes from. A change
is merged into the stored overrides and the result checked by `parse_rules` as a whole, so a
malformed change is refused with every problem listed and nothing is stored. Each change is
audited (`campaign.rules_changed`, old and new overrides) in the transaction that makes it.
Managers change their own campaigns, admins any; `viewer=None` is the operator (the CLI).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from agreemint.errors import InvalidInput, NotFound
from agreemint.services.audit import audit
from agreemint.services.campaign_control import Viewer
from agreemint.services.rule_texts import TITLES, duration
from agreemint.services.rules import RULE_NAMES, RuleSet, parse_rules
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Campaign

ALL = "all"  # `reset` of every rule
NOT_CHANGED = "The campaign's rules were not changed:\n- "
CAMPAIGN, DEPLOYMENT, DEFAULT = "campaign", "deployment", "default"


@dataclass(frozen=True, slots=True)
class RuleLine:
    """One rule as it applies to a campaign: measure → condition → action, and its fields."""

    name: str
    title: str
    measure: str
    condition: str
    action: str
    values: dict[str, Any]  # every field's effective value
    campaign: dict[str, Any]  # the fields this campaign overrides
    deployment: dict[str, Any]  # the fields TRUST__RULES sets (the campaign's win)

    @property
    def source(self) -> str:
        return CAMPAIGN if self.campaign else DEPLOYMENT if self.deployment else DEFAULT

    def source_text(self) -> str:
        """Where the values come from: the built-in default, TRUST__RULES or the campaign."""
        deployment = f"deployment (TRUST__RULES): {fields_text(self.deployment)}"
        if self.campaign:
            own = f"overridden here: {fields_text(self.campaign)}"
            return f"{own}; {deployment}" if self.deployment else own
        return deployment if self.deployment else "default"


@dataclass(frozen=True, slots=True)
class RulesView:
    campaign_id: int
    name: str
    rules: tuple[RuleLine, ...]
    overrides: dict[str, Any]  # Campaign.rules as stored
    problem: str | None = None  # stored overrides that don't parse (the defaults apply)

    def rule(self, name: str) -> RuleLine:
        return next(r for r in self.rules if r.name == name)


def value_text(value: Any) -> str:
    """A field's value as it is typed in a change (`true`, `2`, `1.5`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def fields_text(values: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value_text(value)}" for key, value in values.items())


def changes(before: RulesView, after: RulesView) -> list[tuple[str, str, Any, Any]]:
    """(rule, field, old, new) for every effective value that differs."""
    return [(b.name, key, old, a.values[key])
            for b, a in zip(before.rules, after.rules, strict=True)
            for key, old in b.values.items() if a.values[key] != old]


def report(view: RulesView) -> str:
    """The view as plain text (the CLI's)."""
    lines = [f"campaign {view.campaign_id} “{view.name}”: measure -> condition -> action"]
    if view.problem:
        lines.append(f"the stored overrides are not valid, so the defaults apply:\n{view.problem}")
    for r in view.rules:
        lines += ["", f"{r.name} [{r.source_text()}]",
                  f"  {r.measure} -> {r.condition} -> {r.action}", f"  {fields_text(r.values)}"]
    return "\n".join(lines)


def describe(name: str, rule: Any) -> tuple[str, str, str]:
    """(measure, condition, action) of one rule with its values, in the README's words."""
    measure, condition, action = _DESCRIBE[name](rule)
    return measure, condition if rule.enabled else "off (enabled=false)", action


def _same_button(r: Any) -> tuple[str, str, str]:
    steps = [(r.warn_at, "warning"), (r.pause_at, f"paused {duration(r.pause_minutes)}")]
    steps = [(at, what) for at, what in steps if at]
    return ("identical answers in a row",
            " / ".join(str(at) for at, _ in steps) or "never (warn_at and pause_at are 0)",
            " / ".join(what for _, what in steps) or "nothing")


_MIDNIGHT = "paused until midnight UTC"
_DESCRIBE: dict[str, Any] = {
    "gold_accuracy": lambda r: (
        f"accuracy on the last {r.window} hidden gold answers",
        f"below {r.min_accuracy:g} with ≥ {r.min_answered} answered",
        "removed from the campaign; unpaid rewards there withheld"),
    "too_fast": lambda r: ("seconds on this answer", f"under {r.min_seconds:g} s",
                           "this answer's reward withheld, a warning"),
    "fast_streak": lambda r: (f"too-fast answers among the last {r.window}", f"{r.count}",
                              f"paused {duration(r.pause_minutes)}"),
    "same_button": _same_button,
    "skips_in_row": lambda r: ("skips in a row", f"{r.count}",
                               f"paused {duration(r.pause_minutes)}"),
    "daily_answers": lambda r: ("today's answers in the campaign",
                                f"{r.max_answers}" if r.max_answers else "no cap (0)", _MIDNIGHT),
    "daily_earnings": lambda r: ("today's tokens in the campaign",
                                 f"{r.max_tokens:g} tokens" if r.max_tokens else "no cap (0)",
                                 _MIDNIGHT),
}


class RuleEditor:
    def __init__(self, sessionmaker: SessionMaker,
                 deployment: Mapping[str, Any] | None = None) -> None:
        """`deployment`: TRUST__RULES, the overrides under every campaign's (as RuleEngine's)."""
        self._sm = sessionmaker
        self._base = parse_rules(deployment)  # checked first: the shape below is then known
        self._deployment = {k: dict(v) for k, v in (deployment or {}).items()}

    async def view(self, viewer: Viewer | None, campaign_id: int) -> RulesView:
        async with self._sm() as session:
            campaign = await self._get(session, viewer, campaign_id)
            return self._view(campaign)

    async def change(
        self, viewer: Viewer | None, campaign_id: int,
        set_: Mapping[str, Any] | None = None, reset: Sequence[str] = (),
    ) -> tuple[RulesView, RulesView]:
        """Reset the named rules (or `all`) to the deployment's values, then merge `set_`
        ({rule: {field: value}}) into the overrides. Returns (before, after); nothing is
        stored or audited when the overrides stay as they were."""
        async with self._sm() as session:
            campaign = await self._get(session, viewer, campaign_id, for_update=True)
            old = dict(campaign.rules or {})
            new = self._merged(old, set_, reset)
            before = self._view(campaign)
            if new == old:
                return before, before
            campaign.rules = new
            flag_modified(campaign, "rules")
            actor = "operator" if viewer is None else str(viewer.telegram_id)
            audit(session, "campaign.rules_changed", "campaign", campaign.id, actor=actor,
                  rules=sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)),
                  old=old, new=new)
            after = self._view(campaign)
            await session.commit()
            return before, after

    def _merged(self, old: dict[str, Any], patch: Mapping[str, Any] | None,
                reset: Sequence[str]) -> dict[str, Any]:
        unknown = [n for n in reset if n not in RULE_NAMES and n != ALL]
        if unknown:
            raise InvalidInput(NOT_CHANGED + "\n- ".join(
                f"unknown rule “{n}”; the rules are: {', '.join(RULE_NAMES)}" for n in unknown))
        if patch is not None and not isinstance(patch, Mapping):
            parse_rules(patch)  # raises with the expected shape
        new = {} if ALL in reset else {k: v for k, v in old.items() if k not in reset}
        for name, values in (patch or {}).items():
            current = new.get(name)
            if isinstance(values, Mapping) and isinstance(current, Mapping):
                new[name] = {**current, **values}
            else:
                new[name] = dict(values) if isinstance(values, Mapping) else values
        new = {k: v for k, v in new.items() if v != {} or k not in RULE_NAMES}
        parse_rules(new, self._base)  # every problem at once; nothing stored on any
        return new

    def _view(self, campaign: Campaign) -> RulesView:
        stored = dict(campaign.rules or {})
        try:
            rules, problem = parse_rules(stored, self._base), None
        except InvalidInput as exc:  # broken outside the app: the engine uses the defaults
            rules, problem, stored = self._base, exc.user_message, {}
        return RulesView(campaign.id, campaign.name, tuple(self._line(rules, n, stored)
                                                           for n in RULE_NAMES),
                         dict(campaign.rules or {}), problem)

    def _line(self, rules: RuleSet, name: str, stored: Mapping[str, Any]) -> RuleLine:
        rule = getattr(rules, name)
        measure, condition, action = describe(name, rule)
        values = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)}
        own = dict(stored.get(name) or {})
        deployment = {k: v for k, v in self._deployment.get(name, {}).items() if k not in own}
        return RuleLine(name, TITLES[name], measure, condition, action, values,
                        {k: values[k] for k in own}, {k: values[k] for k in deployment})

    async def _get(self, session: AsyncSession, viewer: Viewer | None, campaign_id: int,
                   for_update: bool = False) -> Campaign:
        query = select(Campaign).where(Campaign.id == campaign_id)
        campaign = await session.scalar(query.with_for_update() if for_update else query)
        if viewer is None:
            if campaign is None:
                raise NotFound(f"There is no campaign {campaign_id}.")
        # A manager asking for someone else's campaign learns nothing about it.
        elif campaign is None or not (viewer.admin or campaign.owner_id == viewer.worker_id):
            raise NotFound(f"Campaign {campaign_id} is not one of yours.")
        return campaign
