"""The /newcampaign dialog's words: its texts (HTML, typed input escaped) and the readers of the
manager's typed answers (each returns a JSON-friendly value or raises ValueError with the reply)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from html import escape

from agreemint.domain import MAX_LABEL_CHARS, SEPARATOR
from agreemint.money import format_tokens
from agreemint.services.funding import FundingState, FundingView

MAX_PROBLEMS_SHOWN = 10

STEP = "<i>Step {n} of 10.</i> "
ASK_NAME = STEP.format(n=1) + "What is the campaign called? (1-200 characters)"
ASK_INSTRUCTIONS = STEP.format(n=2) + (
    "Instructions for workers: what should they look for? (up to 1000 characters)"
)
ASK_TYPE = STEP.format(n=3) + "How do workers answer?"
ASK_LABELS = STEP.format(n=4) + (
    "The labels, separated by commas (2-10 labels, each up to 64 characters), "
    "e.g. <code>cat, dog, bird</code>"
)
ASK_OVERLAP = STEP.format(n=5) + (
    "Answers per item: the minimum and the maximum, e.g. <code>3 5</code>. Items whose "
    "consensus is still uncertain get more answers, up to the maximum. One number = fixed."
)
ASK_CONFIDENCE = STEP.format(n=6) + (
    "Target confidence for a label, e.g. <code>0.9</code> or <code>90%</code> (50-99%)."
)
ASK_GOLD = STEP.format(n=7) + (
    "Gold share: how often a worker sees a gold question with a known answer, e.g. "
    "<code>0.1</code> or <code>10%</code> (0-50%). Gold questions come from the file's gold column."
)
ASK_RATE = STEP.format(n=8) + (
    "Reward per verified label, in tokens, e.g. <code>0.05</code> (up to 6 decimals)."
)
ASK_DEADLINE = STEP.format(n=9) + (
    "Deadline: a number of days from now (1-365) or a date <code>YYYY-MM-DD</code>, or "
    "<code>none</code>."
)
ASK_ITEMS = STEP.format(n=10) + (
    "Send the items file as a document: CSV or JSONL (columns id, text, image, gold), a ZIP of "
    "images, or Label Studio task JSON. Up to 20 MB."
)
CANCELLED = "Campaign creation cancelled. Nothing was saved."
NOTHING_TO_CANCEL = "There is nothing to cancel."
SEND_TEXT = "Please answer with a text message (or /cancel)."
USE_TYPE_BUTTONS = "Please choose the task type with the buttons (or /cancel)."
SEND_DOCUMENT = "Please send the items as a file (a document), or /cancel."
USE_CONFIRM_BUTTONS = "Please tap Confirm or Cancel."
DOWNLOADING = "Reading the file…"
EXPIRED = "This dialog has expired. Start again with /newcampaign."
FUNDING_FAILED = (
    "Funding campaign #{id} failed; it stays a draft and gives no tasks. Try "
    "<code>/fund {id}</code> later."
)
FUND_USAGE = "Usage: <code>/fund campaign_id</code>"

BAD_NAME = "The name needs 1-200 characters. Try again."
BAD_INSTRUCTIONS = "The instructions need 1-1000 characters. Try again."
BAD_LABELS = "Labels: {problem}. Try again, e.g. <code>cat, dog, bird</code>."
BAD_OVERLAP = (
    "Send one or two whole numbers between 1 and 100, the minimum first, e.g. <code>3 5</code>."
)
BAD_CONFIDENCE = "Send a number from 0.5 to 0.99 (or 50% to 99%)."
BAD_GOLD = "Send a number from 0 to 0.5 (or 0% to 50%)."
BAD_RATE = "Send a positive number of tokens with at most 6 decimals, e.g. <code>0.05</code>."
BAD_DEADLINE = (
    "Send a number of days (1-365), a future date like <code>2026-12-31</code>, or "
    "<code>none</code>."
)
BAD_FILE_TYPE = "I read .csv, .jsonl, .json and .zip files. Send one of those."
FILE_TOO_BIG = "The file is {size} MB; the limit is {limit} MB."
NO_GOLD_ITEMS = (
    "The gold share is {share:.0%} but the file has no gold labels. Add a gold column, or "
    "/cancel and start again with a gold share of 0."
)

TYPE_NAMES = {"single_choice": "single choice", "yes_no": "yes / no",
              "multiple_choice": "multiple choice", "free_text": "free text"}


@dataclass(frozen=True, slots=True)
class Draft:
    """What the summary shows (from the dialog's stored answers)."""

    name: str
    instructions: str
    task_type: str
    labels: tuple[str, ...]
    overlap: int
    max_overlap: int
    target: float
    gold: float
    rate_micro: int
    deadline: datetime | None
    items: int
    gold_items: int
    budget_wei: int


def file_problems(message: str) -> str:
    """The parser's report, first lines only: a file with 10,000 bad rows fits one message."""
    head, _, rest = message.partition("\n")
    lines = [line for line in rest.splitlines() if line.strip()]
    shown = "\n".join(escape(line) for line in lines[:MAX_PROBLEMS_SHOWN])
    more = len(lines) - MAX_PROBLEMS_SHOWN
    tail = f"\n…and {more} more." if more > 0 else ""
    body = f"<b>{escape(head)}</b>\n{shown}{tail}" if lines else f"<b>{escape(head)}</b>"
    return body + "\n\nFix the file and send it again, or /cancel."


def items_read(count: int, gold: int) -> str:
    return f"Read {count} items ({gold} gold)."


def summary(d: Draft, symbol: str) -> str:
    overlap = str(d.overlap) if d.overlap == d.max_overlap else f"{d.overlap}-{d.max_overlap}"
    deadline = d.deadline.strftime("%Y-%m-%d %H:%M UTC") if d.deadline else "none"
    return (
        "<b>New campaign — please check</b>\n"
        f"Name: {escape(d.name)}\n"
        f"Instructions: {escape(d.instructions)}\n"
        f"Task: {TYPE_NAMES.get(d.task_type, d.task_type)}\n"
        f"Labels: {escape(', '.join(d.labels)) or 'none (workers reply with text)'}\n"
        f"Answers per item: {overlap}\n"
        f"Target confidence: {d.target:.0%}\n"
        f"Gold share: {d.gold:.0%}\n"
        f"Reward per verified label: {format_tokens(d.rate_micro * 10**12, symbol, 6)}\n"
        f"Deadline: {deadline}\n"
        f"Items: {d.items} ({d.gold_items} gold)\n"
        f"<b>Budget: {format_tokens(d.budget_wei, symbol, 6)}</b> "
        "(items × max answers × reward × top quality multiplier)\n\n"
        "The campaign starts once its budget is in the vault."
    )


def created(campaign_id: int, name: str) -> str:
    return f"Campaign #{campaign_id} “{escape(name)}” saved as a draft. Funding it now…"


def funding(view: FundingView, symbol: str) -> str:
    """The funding state; for a deposit, the exact transactions to send."""
    head = f"Campaign #{view.campaign_id} “{escape(view.name)}”: "
    budget = format_tokens(view.budget_wei, symbol, 6)
    if view.state == FundingState.ACTIVE:
        minted = (f" Minted {format_tokens(view.minted_wei, symbol, 6)} into the vault."
                  if view.minted_wei else "")
        return head + f"funded with {budget} and <b>active</b>.{minted} Workers get its tasks now."
    if view.state == FundingState.NOT_DRAFT:
        return head + f"{escape(view.status)}; escrow {format_tokens(view.escrow_wei, symbol, 6)}."
    return head + (
        f"waiting for funds: {format_tokens(view.escrow_wei, symbol, 6)} of {budget} in the vault."
        "\nFrom your wallet, send two transactions:\n"
        f"1. On the token <code>{view.token}</code>: "
        f"<code>approve({view.vault}, {view.shortfall_wei})</code>\n"
        f"2. On the vault <code>{view.vault}</code>: "
        f"<code>fund({view.chain_campaign_id}, {view.shortfall_wei})</code>\n"
        "Amounts are in token units (18 decimals). Then tap “Check funding”."
    )


# ------------------------------------------------------------------ reading typed answers


def name(text: str) -> str:
    if not 1 <= len(text) <= 200:
        raise ValueError(BAD_NAME)
    return text


def instructions(text: str) -> str:
    if not 1 <= len(text) <= 1000:
        raise ValueError(BAD_INSTRUCTIONS)
    return text


def labels(text: str) -> list[str]:
    labels = [part.strip() for part in text.split(",") if part.strip()]
    problem = ("at least two are needed" if len(labels) < 2 else
               "at most 10" if len(labels) > 10 else
               "each needs at most 64 characters" if any(len(x) > 64 for x in labels) else
               "they repeat" if len({x.casefold() for x in labels}) != len(labels) else "")
    if problem:
        raise ValueError(BAD_LABELS.format(problem=problem))
    return labels


def multiple_labels(text: str) -> list[str]:
    """Labels for multiple choice: also no "+" (it joins a selection) and a whole selection
    must fit an answer."""
    found = labels(text)
    if any(SEPARATOR.strip() in x for x in found):
        raise ValueError(BAD_LABELS.format(problem=f'they cannot contain "{SEPARATOR.strip()}"'))
    if len(SEPARATOR.join(found)) > MAX_LABEL_CHARS:
        raise ValueError(BAD_LABELS.format(
            problem=f"together they must fit in {MAX_LABEL_CHARS} characters"))
    return found


def overlap(text: str) -> list[int]:
    parts = re.split(r"[\s,\-–]+", text.strip())
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        raise ValueError(BAD_OVERLAP)
    low, high = int(parts[0]), int(parts[-1])
    if not 1 <= low <= high <= 100:
        raise ValueError(BAD_OVERLAP)
    return [low, high]


def share(text: str, low: float, high: float, error: str) -> float:
    """`0.9`, `90%` or `90` (numbers above 1 read as percent)."""
    raw = text.strip().rstrip("%").strip()
    try:
        value = float(Decimal(raw))
    except (InvalidOperation, ValueError):
        raise ValueError(error) from None
    value = value / 100 if text.strip().endswith("%") or value > 1 else value
    if not low <= value <= high:
        raise ValueError(error)
    return value


def rate(text: str) -> int:
    try:
        tokens = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(BAD_RATE) from None
    micro = tokens * 1_000_000
    if (not tokens.is_finite() or tokens <= 0 or micro != micro.to_integral_value()
            or micro > 10**15):
        raise ValueError(BAD_RATE)
    return int(micro)


def deadline(text: str, now: datetime | None = None) -> str | None:
    now = now or datetime.now(UTC)
    raw = text.strip().lower()
    if raw in ("none", "no", "-"):
        return None
    if raw.isdigit():
        if not 1 <= int(raw) <= 365:
            raise ValueError(BAD_DEADLINE)
        return (now + timedelta(days=int(raw))).isoformat()
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(hour=23, minute=59, tzinfo=UTC)
    except ValueError:
        raise ValueError(BAD_DEADLINE) from None
    if not now < day <= now + timedelta(days=730):
        raise ValueError(BAD_DEADLINE)
    return day.isoformat()
