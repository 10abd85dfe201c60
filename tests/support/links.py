"""Links as a recipient's browser follows them from the published pages, checked from outside."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

_LINK = re.compile(r'\b(?:href|src)="([^"]*)"')


def dead_links(root: Path) -> list[str]:
    """Every relative link in an HTML file under `root` that leads to no published file or
    out of `root` (a link from `<quarter>/report.html` that only works three folders
    deeper is dead where the recipients open it)."""
    dead = []
    for page in sorted(root.rglob("*.html")):
        here = page.parent.relative_to(root).as_posix()
        for href in _LINK.findall(page.read_text("utf-8")):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # elsewhere, or within the page (#…)
            target = posixpath.normpath(posixpath.join(here, unquote(parts.path)))
            if target.startswith("../") or not (root / target).is_file():
                dead.append(f"{page.relative_to(root).as_posix()}: {href}")
    return dead
