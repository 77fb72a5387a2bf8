"""Managers: /rules <campaign id> — the campaign's trust rules (measure → condition → action,
default or overridden); `set <rule> <field>=<value> ...` and `reset <rule>|all` change them.

Every check is the service's: a malformed change is refused with every problem listed and
changes nothing; someone else's campaign is "not one of yours"."""

from __future__ import annotations

import json
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from agreemint.domain import WorkerView
from agreemint.errors import InvalidInput
from agreemint.services.rule_edit import RuleEditor
from bot import rules_texts as texts
from bot.filters import IsManager
from bot.routers.manager import viewer_of


def _value(text: str) -> Any:
    """`2` → 2, `1.5` → 1.5, `true` → True; anything else stays text, which the rules'
    validator then refuses with the field's expected type."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_change(words: list[str]) -> tuple[dict[str, Any] | None, list[str]]:
    """(fields to set {rule: {field: value}} or None, rules to reset) from the words after
    the campaign id; InvalidInput with the usage when they aren't a change."""
    if len(words) == 2 and words[0] == "reset":
        return None, [words[1]]
    if len(words) >= 3 and words[0] == "set":
        pairs = [w.partition("=") for w in words[2:]]
        bad = [key for key, eq, value in pairs if not (key and eq and value)]
        if bad:
            raise InvalidInput(f"Write each change as field=value, not “{bad[0]}”.")
        return {words[1]: {key: _value(value) for key, _, value in pairs}}, []
    raise InvalidInput("That is not a change I know.")


async def rules_command(message: Message, command: CommandObject, worker: WorkerView, role: str,
                        rule_edit: RuleEditor) -> None:
    assert message.from_user is not None
    words = (command.args or "").split()
    if not words or not words[0].lstrip("#").isdigit():
        await message.answer(texts.USAGE)
        return
    cid, viewer = int(words[0].lstrip("#")), viewer_of(message.from_user.id, worker, role)
    if len(words) == 1:
        await message.answer(texts.overview(await rule_edit.view(viewer, cid)))
        return
    try:
        fields, reset = parse_change([w if i > 1 else w.lower()
                                      for i, w in enumerate(words[1:])])
        before, after = await rule_edit.change(viewer, cid, fields, reset)
    except InvalidInput as exc:  # the problems echo what was typed: escaped, with the usage
        await message.answer(texts.refused(exc.user_message))
        return
    await message.answer(texts.changed(before, after))


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.message.register(rules_command, Command("rules"))
    return router
