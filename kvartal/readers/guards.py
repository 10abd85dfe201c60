"""Zip containers (xlsx, xlsm, ods) checked before any parser sees them.

A workbook is a zip of XML; a hostile one can be a zip bomb, carry entity expansion or
cells at the far edge of the sheet. These checks stream each part in bounded memory and
refuse the file with a `ReadError` before openpyxl or the ODS parser is asked to read it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable

from kvartal.readers.grid import (
    EXCEL_MAX_COLUMNS,
    EXCEL_MAX_ROWS,
    RULES,
    Limits,
    ReadError,
    _check_position,
    _column_index,
    column_letter,
)

# ----------------------------------------------------------------------------------------
# Zip containers (xlsx, xlsm, ods): checked before any parser sees them.

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 1 << 20
_OVERLAP = 1024  # longest tag fragment a scan pattern has to see whole

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Only literal-led patterns: the regex engine then skips ahead at C speed, which keeps a
# 100 MB scan inside the time a refusal may take. A reference written in an odd form
# (spaces around `=`) escapes the scan but not the cell-by-cell check while parsing.
_ROOT_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?(?:worksheet|sst)[\s>]")
_TAG_END = (b" ", b">", b"/", b"\t", b"\n", b"\r")
_XLSX_ROW_REF = re.compile(rb'r="(\d{7,})"')  # only 7 digits or more can pass Excel's edge
_XLSX_MERGE = re.compile(rb"mergeCell\s[^<>]{0,500}?\bref\s*=\s*[\"']\s*([^\"']{1,40})[\"']")
_ENCRYPTED = re.compile(rb"encryption-data")
_A1 = re.compile(r"^\$?([A-Za-z]{1,7})\$?(\d{1,9})$")


def _zip_entry_count(data: bytes) -> int | None:
    """Entries declared by the end-of-central-directory record, read without zipfile.

    zipfile builds an object per entry before anyone can look, so a file with a million
    tiny entries would cost gigabytes; the count is checked first.
    """
    tail_start = max(0, len(data) - 22 - 65_535)
    pos = data.rfind(b"PK\x05\x06", tail_start)
    if pos < 0 or pos + 22 > len(data):
        return None
    total = struct.unpack_from("<H", data, pos + 10)[0]
    if total == 0xFFFF and pos >= 20 and data[pos - 20 : pos - 16] == b"PK\x06\x07":
        offset = struct.unpack_from("<Q", data, pos - 20 + 8)[0]
        if offset + 56 <= len(data) and data[offset : offset + 4] == b"PK\x06\x06":
            return int(struct.unpack_from("<Q", data, offset + 32)[0])
    return int(total)


def _open_zip(data: bytes, ext: str, limits: Limits) -> zipfile.ZipFile:
    if data[:8] == _OLE_MAGIC:
        looks_like_xls = (
            b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00" in data
            and b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00" not in data
        )
        if looks_like_xls:
            raise ReadError(
                "ulaeselig",
                f"Filen er i det gamle .xls-format, selv om den hedder .{ext}. Åbn den i "
                f"Excel og gem den som .xlsx.",
            )
        raise ReadError("krypteret")
    if data[:2] != b"PK":
        raise ReadError(
            "ulaeselig",
            f"Filen er ikke en .{ext}-fil (den er ikke en zip-pakke, som .{ext} altid er). "
            + RULES["ulaeselig"],
        )
    count = _zip_entry_count(data)
    if count is not None and count > limits.max_entries:
        raise ReadError("for_stor", f"Filen består af {count} dele. " + RULES["for_stor"])
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ReadError(
            "ulaeselig", f"Filen er ikke en gyldig .{ext}-fil ({exc}). " + RULES["ulaeselig"]
        ) from exc
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ReadError("for_stor", f"Filen består af {len(infos)} dele. " + RULES["for_stor"])
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ReadError("krypteret")
        total += info.file_size
        if info.file_size > limits.max_uncompressed or total > limits.max_uncompressed:
            raise ReadError(
                "for_stor",
                f"Filen fylder over {limits.max_uncompressed / 1e6:.0f} MB, når den pakkes "
                f"ud. " + RULES["for_stor"],
            )
        if info.file_size > limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise ReadError(
                    "for_stor",
                    f"En del af filen ({info.filename}) er pakket {ratio:.0f} gange sammen; "
                    f"det gør regneark ikke. " + RULES["for_stor"],
                )
    return zf


def _scan(zf: zipfile.ZipFile, name: str, window: Callable[[bytes, int], None]) -> None:
    """Stream one entry in bounded memory, in overlapping windows.

    `window(buf, limit)` must act on the matches in `buf[:limit]` (search with endpos
    `limit`): the rest of `buf` comes again at the start of the next window. The cut is
    made just before a `<`, and every pattern lies within one tag, so every match is seen
    once and whole.
    """
    with zf.open(name) as fh:
        carry = b""
        while True:
            chunk = fh.read(_CHUNK)
            at_end = not chunk
            buf = carry + chunk
            limit = len(buf)
            if not at_end:
                # cut just before a tag, so no tag straddles the cut
                limit = max(0, len(buf) - _OVERLAP)
                cut = buf.rfind(b"<", max(0, limit - _OVERLAP), limit)
                limit = cut if cut > 0 else limit
            window(buf, limit)
            if at_end:
                return
            carry = buf[limit:]


def _first(pattern: re.Pattern[bytes], buf: bytes, limit: int) -> re.Match[bytes] | None:
    return pattern.search(buf, 0, limit)


def _count(pattern: re.Pattern[bytes], buf: bytes, limit: int) -> int:
    return len(pattern.findall(buf, 0, limit))


def _refuse_dtd(buf: bytes, limit: int) -> None:
    if _first(_DTD, buf, limit):
        raise ReadError("dtd")


def _is_xml_part(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".xml", ".rels", ".vml")) or lower == "[content_types].xml"


def _far_ref_pattern(limits: Limits) -> re.Pattern[bytes]:
    """Cell references long enough to lie beyond the limits; checking every reference in
    Python would take longer than the one second a refusal may take."""
    letters = len(column_letter(min(limits.max_columns, EXCEL_MAX_COLUMNS) - 1))
    digits = len(str(min(limits.max_rows, EXCEL_MAX_ROWS)))
    return re.compile(rb'r="([A-Za-z]{%d,})(\d+)"|r="([A-Za-z]+)(\d{%d,})"' % (letters, digits))


def _attribute_of(buf: bytes, pos: int, tag: bytes) -> bool:
    """Whether the `r="` at `pos` is an attribute of a `tag` element (any prefix)."""
    if pos == 0 or buf[pos - 1 : pos] not in (b" ", b"\t", b"\n", b"\r"):
        return False
    start = buf.rfind(b"<", max(0, pos - 600), pos)
    if start < 0:
        return False
    name = re.match(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z]+)", buf[start:pos])
    return name is not None and name[1] == tag


def _count_tags(buf: bytes, limit: int, name: bytes) -> int:
    return sum(buf.count(b"<" + name + end, 0, limit) for end in _TAG_END)


def _root_prefix(zf: zipfile.ZipFile, name: str) -> bytes:
    """The namespace prefix the part's elements are written with (`x:` or none)."""
    with zf.open(name) as fh:
        head = fh.read(8192)
    m = _ROOT_PREFIX.search(head)
    return m[1] if m and m[1] else b""


def _at_most(count: int, limits: Limits, what: str) -> int:
    """A count of cells (or texts) so far, refused as soon as it passes the limit."""
    if count > limits.max_cells:
        raise ReadError(
            "for_stor", f"Filen har over {limits.max_cells} {what}. " + RULES["for_stor"]
        )
    return count


def _guard_xlsx(zf: zipfile.ZipFile, limits: Limits) -> None:
    far_ref = _far_ref_pattern(limits)
    cells = 0
    strings = 0

    prefix = b""

    def sheet_window(buf: bytes, limit: int) -> None:
        nonlocal cells
        _refuse_dtd(buf, limit)
        cells = _at_most(cells + _count_tags(buf, limit, prefix + b"c"), limits, "celler")
        for m in far_ref.finditer(buf, 0, limit):
            if not _attribute_of(buf, m.start(), b"c"):
                continue
            letters, digits = (m[1], m[2]) if m[1] else (m[3], m[4])
            col = _column_index(letters.decode("ascii")) if len(letters) <= 7 else 10**9
            _check_position(int(digits[:12]), col, limits)
        for row in _XLSX_ROW_REF.finditer(buf, 0, limit):
            if _attribute_of(buf, row.start(), b"row") and int(row[1][:12]) > EXCEL_MAX_ROWS:
                _check_position(int(row[1][:12]), 1, limits)
        for merge in _XLSX_MERGE.finditer(buf, 0, limit):
            for part in merge[1].decode("ascii", "replace").split(":"):
                a1 = _A1.match(part.strip())
                if not a1:
                    raise ReadError(
                        "ulaeselig",
                        "Filen har en ugyldig fletning af celler. " + RULES["ulaeselig"],
                    )
                _check_position(int(a1[2]), _column_index(a1[1]), limits)

    def strings_window(buf: bytes, limit: int) -> None:
        nonlocal strings
        _refuse_dtd(buf, limit)
        strings = _at_most(strings + _count_tags(buf, limit, prefix + b"si"), limits, "tekster")

    for info in zf.infolist():
        name = info.filename
        if not _is_xml_part(name):
            continue
        lower = name.lower()
        if "worksheets/" in lower and lower.endswith(".xml"):
            prefix = _root_prefix(zf, name)
            _scan(zf, name, sheet_window)
        elif lower.endswith("sharedstrings.xml"):
            prefix = _root_prefix(zf, name)
            _scan(zf, name, strings_window)
        else:
            _scan(zf, name, _refuse_dtd)
