"""Bytes to CSV records: size and binary checks, decoding, physical line numbers."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from webapp.imports.cells import clean
from webapp.imports.report import warning

# Signatures of files advisors upload by mistake, with what to do instead.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "This is a PNG image, not a CSV file."),
    (b"%PDF-", "This is a PDF (e.g. a statement); download the positions export as CSV instead."),
    (
        b"PK\x03\x04",
        "This is a ZIP archive or an Excel workbook (.xlsx); in Excel use Save As > CSV.",
    ),
    (b"PK\x05\x06", "This is a ZIP archive, not a CSV file."),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "This is a legacy Excel/Office file (.xls); in Excel use Save As > CSV.",
    ),
    (b"\x1f\x8b", "This is a gzip archive; unpack it and upload the CSV inside."),
)


class FileRefused(Exception):
    """A file-level error: nothing in the file can be imported."""

    def __init__(self, code: str, message: str, columns: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.columns = list(columns or [])
        self.detected_format = "unknown"  # set once a layout was recognised


@dataclass(slots=True)
class Record:
    """One CSV record and the physical lines it spans (1-based; quoted cells may span lines)."""

    line: int
    end: int
    cells: list[str]

    @property
    def blank(self) -> bool:
        """True when every cell is empty or whitespace."""
        for cell in self.cells:  # a loop, not any(genexpr): called for every record
            if cell and clean(cell):
                return False
        return True

    @property
    def lines(self) -> range:
        """All physical line numbers of the record."""
        return range(self.line, self.end + 1)

    def cell(self, index: int | None) -> str:
        """The cell at ``index`` ("" when absent: rows may be shorter than their header)."""
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]


def check_bytes(data: bytes, max_bytes: int) -> None:
    """Refuse oversized, empty and binary uploads before decoding anything."""
    if len(data) > max_bytes:
        raise FileRefused(
            "file_too_large",
            f"The file is {len(data) / 1048576:.1f} MB; the limit is {max_bytes / 1048576:g} MB. "
            "Split it into smaller files.",
        )
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise FileRefused("empty_file", "The file is empty.")
    for signature, message in _SIGNATURES:
        if data.startswith(signature):
            raise FileRefused("invalid_file", message)


def _bomless_utf16(data: bytes, sample: int = 4096) -> str | None:
    """ "utf-16-be" / "utf-16-le" when ``data`` has UTF-16's NUL pattern without a BOM, else None.

    CSV text is mostly ASCII, which UTF-16 stores as a NUL byte and the character: big-endian puts
    the NULs at even offsets, little-endian at odd ones. Binary data has NULs at both parities.
    The thresholds leave room for non-Latin text (whose code units have no NUL byte).
    """
    head = data[:sample]  # an even sample of an even-length file: whole code units
    if len(data) % 2 or sample % 2 or len(head) < 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    units = len(head) // 2
    for nuls, others, codec in ((even, odd, "utf-16-be"), (odd, even, "utf-16-le")):
        if nuls >= units * 0.3 and others <= nuls * 0.05:
            return codec
    return None


def decode(data: bytes) -> tuple[str, list[dict[str, str]]]:
    """The file as text: UTF-8 (BOM optional), UTF-16 (BOM or NUL pattern), else Windows-1252."""
    notes: list[dict[str, str]] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" is UTF-16: its NUL bytes are characters, not binary garbage.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRefused(
                "invalid_file", "The file claims to be UTF-16 but cannot be read."
            ) from None
    elif b"\x00" in data and (codec := _bomless_utf16(data)):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            raise FileRefused(
                "invalid_file", "The file looks like UTF-16 text but cannot be read."
            ) from None
    else:
        if b"\x00" in data:
            raise FileRefused(
                "invalid_file", "The file contains binary data (NUL bytes); it is not a CSV file."
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Not UTF-8: Excel on Windows saves CSV as cp1252; undefined bytes become U+FFFD.
            text = data.decode("cp1252", errors="replace")
            notes.append(
                warning(
                    "encoding_fallback",
                    (
                        "The file is not UTF-8; it was read as Windows-1252 (Excel). "
                        "Check accented names."
                    ),
                )
            )
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise FileRefused(
            "invalid_file", "The file contains binary data (NUL bytes); it is not a CSV file."
        )
    if not text.strip():
        raise FileRefused("empty_file", "The file is empty.")
    return text, notes


def _delimiter(text: str) -> str:
    # Comma is the contract. A file whose first lines have no comma at all but tabs or semicolons
    # is Excel's "Text (Tab delimited)" or a European-locale CSV; reading it beats refusing it.
    head = [line for line in text[:20000].splitlines()[:50] if line.strip()][:5]
    for delimiter in (",", "\t", ";"):
        if any(delimiter in line for line in head):
            return delimiter
    return ","


def read_records(text: str) -> list[Record]:
    """Every CSV record with its physical line span (csv.reader's line_num counts real lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[Record] = []
    previous = 0
    try:
        for cells in reader:
            records.append(Record(previous + 1, reader.line_num, cells))
            previous = reader.line_num
    except csv.Error as exc:
        raise FileRefused(
            "invalid_file",
            f"Line {previous + 1} cannot be read as CSV ({exc}); check for an unbalanced quote.",
        ) from None
    return records


def quote_warning(text: str, records: list[Record]) -> list[dict[str, str]]:
    """A warning when an unbalanced quote made the csv reader merge lines into one cell."""
    # An odd quote count alone is harmless (a stray 12" inside an unquoted cell); it matters only
    # when some cell then spans several lines.
    if text.count('"') % 2 and any(
        "\n" in c or "\r" in c for r in records if r.end > r.line for c in r.cells
    ):
        return [
            warning(
                "unbalanced_quote",
                (
                    "The file has an unbalanced double quote; "
                    "the lines after it may have been merged into one cell."
                ),
            )
        ]
    return []
