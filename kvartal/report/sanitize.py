"""The centres' comments: simple HTML kept, everything else removed.

Comments are typed by many people into spreadsheet cells and may hold the little HTML the
2009 appendix used (`<p>`, `<ol>`, `<li>`, `<i>`, `<b>`). Whatever else a cell holds
(scripts, links, event handlers, styles) must never reach a recipient's browser or PDF
reader, so the text goes through nh3 with an explicit allow-list and no attributes at all,
and only nh3's output is ever marked safe.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup

ALLOWED_TAGS = {"p", "ol", "ul", "li", "i", "b", "em", "strong", "br"}
_TAG = re.compile(r"<[a-zA-Z/!]")
_BLOCK_END = re.compile(r"</(p|li|ol|ul)\s*>|<br\s*/?>", re.IGNORECASE)


def _clean(text: str, tags: set[str]) -> str:
    import nh3

    return nh3.clean(
        text,
        tags=tags,
        clean_content_tags={"script", "style"},
        attributes={},
        strip_comments=True,
        link_rel=None,
    )


def comment_html(text: str) -> Markup:
    """Safe HTML for the report. Plain text keeps its paragraphs and line breaks."""
    if not _TAG.search(text):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
    cleaned = _clean(text, ALLOWED_TAGS).strip()
    return Markup(cleaned)  # noqa: S704 - nh3's output, allow-listed tags, no attributes


def comment_text(text: str) -> str:
    """Plain text for the workbook: tags dropped, paragraphs and list items on their own lines."""
    marked = _BLOCK_END.sub(lambda m: m.group(0) + "\n", text)
    stripped = html.unescape(_clean(marked, set()))
    lines = [" ".join(line.split()) for line in stripped.splitlines()]
    return "\n".join(line for line in lines if line)
