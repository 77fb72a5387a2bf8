"""What /appeal says."""

from __future__ import annotations

from html import escape

from agreemint.services.appeals import Appealable, AppealView

STATUS = {"open": "⏳ under blind re-review", "released": "✅ released",
          "confirmed": "🚫 confirmed"}


def overview(candidates: list[Appealable], appeals: list[AppealView], window_hours: int) -> str:
    lines = ["⚖️ <b>Appeals</b>"]
    if candidates:
        lines.append(
            f"You can appeal these withheld rewards (within {window_hours} hours of the "
            "decision). The item goes to experienced workers who label it without seeing "
            "anyone's answer; if most of them pick your answer, the reward is released."
        )
        lines += [f"{n}. {escape(c.campaign)}: “{escape(c.item)}” → <b>{escape(c.label)}</b> — "
                  f"{escape(c.reason)}" for n, c in enumerate(candidates, 1)]
    else:
        lines.append("Nothing to appeal: only rewards withheld for a label decision "
                     "(disagreeing with the consensus or a gold answer) can be appealed, "
                     f"within {window_hours} hours.")
    if appeals:
        lines.append("\n<b>Your appeals</b>")
        lines += [f"#{a.id} {escape(a.campaign)}: “{escape(a.item)}” → {escape(a.label)} — "
                  f"{STATUS.get(a.status, a.status)}"
                  + (f": {escape(a.outcome)}" if a.outcome and a.status != "open" else "")
                  for a in appeals]
    return "\n".join(lines)


def filed(appeal: AppealView) -> str:
    return (f"⚖️ Appeal #{appeal.id} filed for “{escape(appeal.item)}” (your answer "
            f"<b>{escape(appeal.label)}</b>). Experienced workers will label it blind; "
            "you'll get a message with the outcome.")
