"""What managers read: the campaign list, the campaign card, control replies, role grants.

Everything that comes from users (campaign names) is HTML-escaped: replies use parse_mode HTML.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from agreemint.money import format_tokens
from agreemint.services.campaign_control import CampaignCard, CampaignLine, CloseResult

NAME_CHARS = 80  # keeps the card within Telegram's 1024-character caption limit
BUTTON_NAME_CHARS = 32

NO_CAMPAIGNS = "You have no campaigns yet. Create one with /newcampaign."
PICK = "Tap a campaign to open its card."
CAMPAIGN_USAGE = "Usage: /campaign &lt;id&gt; — the id is shown by /campaigns."
CONTROL_USAGE = "Usage: /{command} &lt;campaign id&gt;"
EXTEND_USAGE = "Usage: /extend &lt;campaign id&gt; [days, default 7]"
GRANT_USAGE = (
    "Usage: /{command} &lt;telegram id&gt; — the person must have sent /start to the bot.")
CONFIRM_CLOSE = "Close for good? Tap “Yes, close” to confirm."

PAUSE, RESUME, CLOSE, EXTEND, REFRESH = "⏸ Pause", "▶️ Resume", "⏹ Close", "+7 days", "🔄 Refresh"
YES_CLOSE, CANCEL = "Yes, close", "Cancel"


def _name(name: str, limit: int = NAME_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "none"


def campaign_list(lines: list[CampaignLine], admin: bool) -> str:
    head = "<b>All campaigns</b>" if admin else "<b>Your campaigns</b>"
    rows = [
        f"#{c.id} {escape(_name(c.name, 48))} — {c.status}, {c.items_done}/{c.items_total} labeled"
        for c in lines
    ]
    return "\n".join([head, *rows, "", PICK])


def list_button(line: CampaignLine) -> str:
    return f"#{line.id} {_name(line.name, BUTTON_NAME_CHARS)} ({line.status})"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def card(c: CampaignCard, symbol: str) -> str:
    """The card caption: progress, quality, money, pace."""
    confidence = "–" if c.mean_confidence is None else f"{c.mean_confidence:.2f}"
    agreement = "–" if c.agreement is None else f"{c.agreement:.2f}"
    pace = "–" if c.answers_per_hour is None else f"{c.answers_per_hour:.1f} answers/h"
    if c.items_total and c.items_done == c.items_total:
        eta = "done"
    elif c.eta is None:
        eta = "unknown"
    else:
        eta = _when(c.eta)
    budget = format_tokens(c.budget_wei, symbol) if c.budget_wei else "not set"
    lines = [
        f"<b>#{c.id} {escape(_name(c.name))}</b> — {c.status}",
        f"Items labeled: {c.items_done} / {c.items_total} ({_share(c.items_done, c.items_total)})",
        f"Answers: {c.answers} from {c.workers} workers",
        f"Mean confidence: {confidence}",
        f"Agreement (Krippendorff’s α): {agreement}",
        f"Spent: {format_tokens(c.spent_wei, symbol)} of {budget} "
        f"(paid {format_tokens(c.paid_wei, symbol)})",
        f"Funded: {format_tokens(c.funded_wei, symbol)}" + (" on-chain" if c.on_chain else ""),
        *_gold(c),
        f"Pace: {pace} · ETA: {eta}",
        f"Deadline: {_when(c.deadline)}",
    ]
    return "\n".join(lines)


def _gold(c: CampaignCard) -> list[str]:
    """Gold answers past the gold items' own max answers are paid out of the budget's room."""
    if c.gold_room is None:
        return []
    head = f"Gold answers: {c.gold_answers}; "
    if c.gold_room:
        return [head + f"the budget has room for {c.gold_room} more beyond the gold items' own "
                "max answers"]
    return [head + "the budget has no room for more beyond the gold items' own max answers, "
            "so gold items that reached theirs are no longer served"]


def paused(campaign_id: int) -> str:
    return f"Campaign #{campaign_id} is paused: no new tasks go out."


def resumed(campaign_id: int) -> str:
    return f"Campaign #{campaign_id} is running again."


def extended(campaign_id: int, deadline: datetime) -> str:
    return f"Campaign #{campaign_id} now runs until {_when(deadline)}."


def closed(campaign_id: int, result: CloseResult, symbol: str) -> str:
    if result.refunded_wei is None:
        return f"Campaign #{campaign_id} is closed."
    refund = format_tokens(result.refunded_wei, symbol)
    return f"Campaign #{campaign_id} is closed; {refund} refunded from the escrow."


def granted(telegram_id: int) -> str:
    return f"{telegram_id} is now a campaign manager."


def revoked(telegram_id: int) -> str:
    return f"{telegram_id} is no longer a campaign manager."


def unknown_user(telegram_id: int) -> str:
    return f"No one with id {telegram_id} has started the bot yet; ask them to send /start first."


def already_admin(telegram_id: int) -> str:
    return f"{telegram_id} is an admin already."


def configured_manager(telegram_id: int) -> str:
    return (f"{telegram_id} stays a manager: the operator's settings (BOT__MANAGER_IDS) name "
            "them. Remove the id there.")
