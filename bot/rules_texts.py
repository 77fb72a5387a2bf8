"""What managers read about a campaign's trust rules (/rules), in HTML parse mode.

Rule and field names, values and descriptions come from services.rule_edit; campaign names and
anything the manager typed (echoed back in a refusal) are escaped.
"""

from __future__ import annotations

from html import escape

from agreemint.services.rule_edit import RuleLine, RulesView, changes, fields_text, value_text

USAGE = (
    "Usage:\n"
    "/rules &lt;campaign id&gt; — the campaign's rules\n"
    "/rules &lt;campaign id&gt; set &lt;rule&gt; &lt;field&gt;=&lt;value&gt; ... — change "
    "fields, e.g. <code>/rules 3 set same_button pause_at=40</code>\n"
    "/rules &lt;campaign id&gt; reset &lt;rule&gt; (or <code>all</code>) — back to the defaults\n"
    "Values: whole numbers, decimals, <code>true</code> or <code>false</code>. The campaign id "
    "is shown by /campaigns."
)
NAME_CHARS = 60


def rule_text(line: RuleLine) -> str:
    return (f"<b>{line.name}</b> — {escape(line.source_text())}\n"
            f"{escape(line.measure)} → {escape(line.condition)} → {escape(line.action)}\n"
            f"<code>{escape(fields_text(line.values))}</code>")


def overview(view: RulesView) -> str:
    name = view.name if len(view.name) <= NAME_CHARS else view.name[: NAME_CHARS - 1] + "…"
    parts = [f"<b>Rules of campaign #{view.campaign_id} “{escape(name)}”</b>\n"
             "measure → condition → action; the fields below each"]
    if view.problem:
        parts.append("⚠️ The stored overrides are not valid, so the defaults apply:\n"
                     + escape(view.problem))
    parts += [rule_text(line) for line in view.rules]
    cid = view.campaign_id
    parts.append(f"Change: <code>/rules {cid} set same_button pause_at=40</code>\n"
                 f"Back to the default: <code>/rules {cid} reset same_button</code> "
                 f"(or <code>reset all</code>)")
    return "\n\n".join(parts)


def changed(before: RulesView, after: RulesView) -> str:
    """The reply to a change: each value that changed, then the rules it touched."""
    diff = changes(before, after)
    if not diff and before.overrides == after.overrides:
        return f"Nothing changed: campaign #{after.campaign_id}'s rules already read so."
    head = f"✅ Rules of campaign #{after.campaign_id} changed"
    if not diff:
        return head + " (the values in effect stay the same)."
    lines = [f"• {rule}.{key}: {value_text(old)} → {value_text(new)}"
             for rule, key, old, new in diff]
    touched = dict.fromkeys(rule for rule, *_ in diff)
    return "\n\n".join([head + ":\n" + escape("\n".join(lines)),
                        *(rule_text(after.rule(name)) for name in touched)])


def refused(problems: str) -> str:
    return f"{escape(problems)}\n\n{USAGE}"
