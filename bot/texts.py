"""Everything the bot says, in one place (HTML parse mode; user content is escaped)."""

from __future__ import annotations

from html import escape

from agreemint.domain import MAX_LABEL_CHARS, TaskType, TaskView

WELCOME = (
    "👋 <b>Welcome to agreemint, {name}!</b>\n\n"
    "You label short items — a text or a photo — by tapping one of the answer buttons, "
    "and you earn tokens for it.\n\n"
    "<b>How answers are checked.</b> Every item is answered by several people. Your answer "
    "counts when it agrees with the consensus of the others, and some items are hidden "
    "gold questions whose answer we already know.\n\n"
    "<b>How rewards work.</b> Each verified answer earns the campaign's rate, multiplied by "
    "your measured quality: careful workers earn more. Answers that fail the check are not "
    "paid, and you will always see why.\n\n"
    "Tap <b>Next task</b> to begin. /help shows the commands."
)
HELP = (
    "<b>Commands</b>\n"
    "/start — the welcome message\n"
    "/next — your next task\n"
    "/balance — pending, verified and paid rewards\n"
    "/history — your latest answers and why any were withheld\n"
    "/appeal — contest a withheld reward (blind re-review by experienced workers)\n"
    "/wallet — link the Ethereum wallet your rewards go to\n"
    "/help — this list\n\n"
    "Answer with the buttons under each task (or, when a task asks for it, reply with a "
    "short text). Tap <b>Skip</b> if you are not sure: "
    "a skipped task goes to someone else. Skipping now and then is fine; a long run of skips "
    "pauses you for a while.\n\n"
    "Each campaign checks quality openly: newcomers may first answer a few training questions "
    "(you see the right answer after each), and rules such as hidden gold accuracy, answering "
    "too fast or tapping the same button every time lead to a warning, a pause or removal — "
    "the bot always tells you which rule and what you can do."
)
NEXT_TASK = "▶️ Next task"
SKIP = "Skip"
DONE = "✅ Done"
SELECTED_MARK = "✓ "
PICK_SEVERAL = "Tap every option that applies, then <b>Done</b>."
REPLY_WITH_TEXT = "✍️ Reply with your answer (up to {limit} characters), or tap <b>Skip</b>."
NOTHING_LEFT = (
    "🎉 There are no tasks for you right now — you have done everything available. "
    "We will message you when a new campaign starts."
)
USE_BUTTONS = "Please answer with the buttons under the task. Tap <b>Next task</b> to get one."
UNKNOWN_COMMAND = "I don't know the command {command}. Try /next or /help."
STALE_BUTTON = "This button is no longer valid."
SAVED = "Saved: {option}"
NOT_SAVED = "Not saved: you can't answer tasks in this campaign right now."
SKIPPED = "Skipped."
ERROR = "Something went wrong on our side. Please try again in a moment."


CAPTION_LIMIT = 1024


def fit(text: str, limit: int) -> str:
    """Shorten to Telegram's limit without cutting an HTML tag or entity in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">") or cut.rfind("&") > cut.rfind(";"):
        cut = cut[: max(cut.rfind("<"), cut.rfind("&"))]
    # Re-close what the cut left open (only <b> and <i> are used in task bodies).
    for tag in ("i", "b"):
        if cut.count(f"<{tag}>") > cut.count(f"</{tag}>"):
            cut += f"</{tag}>"
    return cut + "…"


def welcome(first_name: str) -> str:
    return WELCOME.format(name=escape(first_name or "there"))


def unknown_command(command: str) -> str:
    return UNKNOWN_COMMAND.format(command=escape(command[:64]))


def nothing_left(reasons: list[str]) -> str:
    """No task now; when rules or training hold the worker back, say where and why."""
    if not reasons:
        return NOTHING_LEFT
    lines = "\n".join(f"• {escape(r)}" for r in reasons)
    return f"⏸ No task for you right now.\n{lines}"


def task_body(task: TaskView, *, hint: bool = True) -> str:
    """The task's text or photo caption (`hint`: how to answer, for types that need it)."""
    parts = [f"<b>{escape(task.campaign_name)}</b>"]
    if task.training:
        parts[0] += f" · 🎓 {escape(task.training)}"
    if task.text:
        parts.append(escape(task.text))
    if task.instructions:
        parts.append(f"<i>{escape(task.instructions)}</i>")
    if hint and task.task_type is TaskType.MULTIPLE_CHOICE:
        parts.append(PICK_SEVERAL)
    elif hint and task.task_type is TaskType.FREE_TEXT:
        parts.append(REPLY_WITH_TEXT.format(limit=MAX_LABEL_CHARS))
    return "\n\n".join(parts)


def answered(task: TaskView, option: str) -> str:
    """The task message after it was answered: the buttons give way to the choice."""
    return f"{task_body(task, hint=False)}\n\n✅ Your answer: <b>{escape(option)}</b>"


def skipped(task: TaskView) -> str:
    return f"{task_body(task, hint=False)}\n\n⏭ Skipped"


def refused(message: str) -> str:
    """An answer refused because the worker is paused or removed where the task came from
    (`message` is the service's plain text, naming the campaign and the reason)."""
    return f"⛔ {escape(message)}"


def refused_task(task: TaskView) -> str:
    """The task message after its answer was refused: the buttons go, the task went back."""
    return f"{task_body(task, hint=False)}\n\n⛔ Not saved"
