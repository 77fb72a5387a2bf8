"""parse_mode=HTML handling, checked against Python's own escaping."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreemint.sandbox.errors import ApiError
from agreemint.sandbox.formatting import parse_html, utf16_len


@given(st.text(max_size=200))
def test_escaped_text_round_trips(text: str) -> None:
    plain, entities = parse_html(html.escape(text, quote=False).replace("\r", ""))
    assert plain == text.replace("\r", "") and entities == []


@given(st.text(min_size=1, max_size=50), st.text(max_size=50))
def test_bold_entity_offsets_are_utf16(inner: str, before: str) -> None:
    source = f"{html.escape(before)}<b>{html.escape(inner)}</b>".replace("\r", "")
    plain, entities = parse_html(source)
    inner_clean, before_clean = inner.replace("\r", ""), before.replace("\r", "")
    assert plain == before_clean + inner_clean
    if inner_clean:
        assert entities == [
            {"type": "bold", "offset": utf16_len(before_clean), "length": utf16_len(inner_clean)}
        ]


@pytest.mark.parametrize(
    "source",
    ["<b>open", "<b><i>x</b></i>", "</b>", "<div>x</div>", "<b"],
)
def test_malformed_markup_is_refused(source: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        parse_html(source)


def test_nested_link_and_pre() -> None:
    plain, entities = parse_html(
        '<a href="https://x.org">x <i>y</i></a> <pre><code class="language-py">1</code></pre>'
    )
    assert plain == "x y 1"
    assert {"type": "text_link", "url": "https://x.org", "offset": 0, "length": 3} in entities
    assert any(e["type"] == "pre" and e.get("language") == "py" for e in entities)
