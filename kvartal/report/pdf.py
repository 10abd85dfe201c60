"""report.pdf: the same HTML, printed by WeasyPrint as a tagged PDF/UA-1 document.

Some readers only ever open the PDF, some with a screen reader. WeasyPrint reports what it
could not tag (a missing language, a figure without alternative text) only in its log, so
the log is captured while printing and any such record stops the build: an untagged PDF
must not be published as if it were accessible.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from kvartal.report import PdfAccessibilityError

# Warnings about unsupported CSS are not accessibility problems; everything the tagger
# says is (it logs at ERROR), and so is anything mentioning the words below.
_ACCESSIBILITY = re.compile(
    r"\b(alt|lang|tag|tagged|title|pdf/ua|structure|artifact)\b", re.IGNORECASE
)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report carries everything inline; a fetch would mean content from elsewhere."""
    raise ValueError(f"external resource refused: {url}")


def _fetcher() -> Any:
    """A fetcher that fetches nothing (WeasyPrint >= 68 wants a URLFetcher object)."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # older WeasyPrint takes a plain function
        return _refuse
    return URLFetcher(allowed_protocols=(), fail_on_errors=False)


def accessibility_problems(records: list[logging.LogRecord]) -> list[str]:
    out = []
    for r in records:
        msg = r.getMessage()
        if r.levelno >= logging.ERROR or _ACCESSIBILITY.search(msg):
            out.append(f"{r.levelname}: {msg}")
    return out


def html_to_pdf(html: bytes) -> bytes:
    from weasyprint import HTML

    logger = logging.getLogger("weasyprint")
    handler = _Collect()
    logger.addHandler(handler)
    level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        document = HTML(string=html.decode("utf-8"), url_fetcher=_fetcher(), media_type="print")
        pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    problems = accessibility_problems(handler.records)
    if problems:
        raise PdfAccessibilityError("PDF/UA: " + "; ".join(problems))
    if pdf is None:
        raise PdfAccessibilityError("WeasyPrint returned no PDF")
    return bytes(pdf)
