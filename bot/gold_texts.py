"""What managers read about a campaign's gold: flagged keys, promotion candidates, replies.

Item texts, labels and evidence come from users: everything is HTML-escaped (parse_mode HTML).
"""

from __future__ import annotations

from html import escape

from agreemint.services.gold_review import Candidate, FlaggedGold, GoldOverview

BUTTON_LABEL_CHARS = 20

USAGE = "Usage: /gold &lt;campaign id&gt; — the id is shown by /campaigns."
KEEP, DROP = "Keep key", "Drop"
UNKNOWN_ACTION = "This button is out of date. Send /gold again."
# At most 10 flagged and 10 candidates, each line shortened: the message stays within 4096.
LABEL_CHARS, EVIDENCE_CHARS = 60, 160


def _short(text: str, limit: int = BUTTON_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def keep_button(f: FlaggedGold) -> str:
    return f"#{f.item_id} {KEEP}"


def use_button(f: FlaggedGold) -> str:
    return f"#{f.item_id} Use “{_short(f.suggestion or '')}”"


def drop_button(f: FlaggedGold) -> str:
    return f"#{f.item_id} {DROP}"


def promote_button(c: Candidate) -> str:
    return f"#{c.item_id} Promote “{_short(c.label)}”"


def _flagged_line(f: FlaggedGold) -> str:
    return (f"#{f.item_id} “{escape(f.preview)}” — key “{escape(_short(f.key, LABEL_CHARS))}”\n"
            f"    {escape(_short(f.evidence, EVIDENCE_CHARS))}")


def _candidate_line(c: Candidate) -> str:
    return (f"#{c.item_id} “{escape(c.preview)}” → “{escape(_short(c.label, LABEL_CHARS))}” "
            f"(confidence {c.confidence:.3f}, {c.answers} answers, all agree)")


def overview(o: GoldOverview) -> str:
    lines = [f"<b>Gold of campaign #{o.campaign_id}</b>"]
    if not o.flagged and not o.candidates:
        lines.append("No gold key is flagged and no item is ready for promotion.")
        return "\n".join(lines)
    if o.flagged:
        lines += ["", "<b>Keys that look wrong</b> (most good workers disagree):"]
        lines += [_flagged_line(f) for f in o.flagged]
    if o.candidates:
        lines += ["", "<b>Promotion candidates</b> (promoted items become hidden gold):"]
        lines += [_candidate_line(c) for c in o.candidates]
    return "\n".join(lines)


def kept(item_id: int) -> str:
    return f"Kept the key of #{item_id}."


def fixed(item_id: int) -> str:
    return f"#{item_id} has its new key."


def dropped(item_id: int) -> str:
    return f"#{item_id} is no longer gold; it is labeled like any other item now."


def promoted(item_id: int) -> str:
    return f"#{item_id} is gold now."
