"""The PDF kit of the client report: fonts, styles, tables, vector charts and the page frame.

ReportLab only (platypus for the flowing layout, ``reportlab.graphics`` for the charts, drawn
as vectors: no raster images, no browser, no matplotlib). Text is set in Bitstream Vera, the
TrueType family that ships inside the ReportLab wheel (embedded and subset, so any reader shows
it and ``pypdf`` extracts it); the Greek letters Vera lacks (β, σ, Σ, …) and the arrow are set
in the PDF's standard Symbol font, so the methodology's formulas print as on the pages.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.rl_codecs import RL_Codecs
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

PAGE = LETTER  # US advisors hand out US Letter
MARGIN = 0.75 * inch
WIDTH = PAGE[0] - 2 * MARGIN  # the text column, points
FONT, BOLD, ITALIC = "Vera", "Vera-Bold", "Vera-Italic"
INK = colors.HexColor("#1d2733")
MUTED = colors.HexColor("#5b6673")
RULE = colors.HexColor("#d5dbe1")
ACCENT = colors.HexColor("#1f5fbf")
BENCH = colors.HexColor("#9aa3ad")
GAIN = colors.HexColor("#2e7d4f")
LOSS = colors.HexColor("#b23b3b")
ZEBRA = colors.HexColor("#f4f6f8")


@functools.cache
def _fonts() -> frozenset[int]:
    """Register the Vera family once; the code points Vera has a glyph for."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    for name, file in ((FONT, "Vera"), (BOLD, "VeraBd"), (ITALIC, "VeraIt"), ("Vera-BI", "VeraBI")):
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, f"{file}.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic="Vera-BI")
    RL_Codecs.register()  # the Symbol font's encoding, for the fallback below
    return frozenset(pdfmetrics.getFont(FONT).face.charToGlyph)


def _in_symbol_font(char: str) -> bool:
    try:
        char.encode("symbol")
    except UnicodeEncodeError:
        return False
    return True


_RUN = re.compile(r"(<[^>]*>)")


def markup(text: str) -> str:
    """Paragraph markup (``<b>``, ``<sub>``, ``<sup>`` …) with the characters Vera lacks set in
    the Symbol font; a character neither has becomes '?' (never an empty box)."""
    known = _fonts()
    out = []
    for part in _RUN.split(text):
        if part.startswith("<"):
            out.append(part)
            continue
        for char in part:
            if ord(char) in known or char in "\n\t":
                out.append(char)
            elif _in_symbol_font(char):
                out.append(f'<font name="Symbol">{char}</font>')
            else:
                out.append("?")
    return "".join(out)


def plain(text: object) -> str:
    """Plain text (escaped) as paragraph markup."""
    return markup(escape(str(text)))


def _style(name: str, **kw) -> ParagraphStyle:
    base = {"fontName": FONT, "fontSize": 9.5, "leading": 13, "textColor": INK}
    return ParagraphStyle(name, **{**base, **kw})


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """The report's paragraph styles by name."""
    _fonts()
    return {
        "title": _style("title", fontName=BOLD, fontSize=24, leading=30, spaceAfter=10),
        "subtitle": _style("subtitle", fontSize=13, leading=18, textColor=MUTED, spaceAfter=4),
        # Headings stay on the page of what follows them.
        "h1": _style(
            "h1",
            fontName=BOLD,
            fontSize=15,
            leading=20,
            spaceBefore=6,
            spaceAfter=6,
            keepWithNext=1,
        ),
        "h2": _style(
            "h2",
            fontName=BOLD,
            fontSize=11,
            leading=15,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "body": _style("body", spaceAfter=5),
        "reading": _style("reading", leftIndent=8, spaceBefore=3, spaceAfter=3),
        "small": _style("small", fontSize=7.5, leading=10, textColor=MUTED, spaceAfter=3),
        "formula": _style("formula", fontSize=8.5, leading=12, leftIndent=12, spaceAfter=1),
        "formula_note": _style(
            "formula_note", fontSize=7.5, leading=10, leftIndent=24, textColor=MUTED, spaceAfter=4
        ),
        "cell": _style("cell", fontSize=7.5, leading=9.5),
        "cell_num": _style("cell_num", fontSize=7.5, leading=9.5, alignment=TA_RIGHT),
        "notice": _style("notice", textColor=LOSS, spaceAfter=6),
    }


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped)."""
    return Paragraph(plain(text), styles()[style])


def rich(text: str, style: str = "body") -> Paragraph:
    """A paragraph of markup the report writes itself (``<b>``, ``<sub>``, ``<sup>``)."""
    return Paragraph(markup(text), styles()[style])


def heading(text: str, level: int = 1) -> Paragraph:
    """A section (level 1) or sub-section (level 2) heading."""
    return para(text, f"h{level}")


def room(height: float) -> CondPageBreak:
    """A page break unless ``height`` points are left on the page (a section's start, a chart)."""
    return CondPageBreak(height)


def gap(height: float = 6) -> Spacer:
    """Vertical space in points."""
    return Spacer(1, height)


@dataclass(frozen=True)
class Column:
    """A table column: header, width (points) and whether it holds numbers (right-aligned)."""

    title: str
    width: float
    numeric: bool = False


def table(columns: Sequence[Column], rows: Sequence[Sequence[object]], *, wrap: int = -1):
    """A table that splits across pages, repeating its header row.

    Cells are plain strings (fast for thousands of rows); column ``wrap`` (an index) is set as
    paragraphs instead so long text wraps.
    """
    cell = styles()["cell"]
    head = [
        Paragraph(plain(c.title), styles()["cell_num" if c.numeric else "cell"]) for c in columns
    ]
    body = [
        [Paragraph(plain(v), cell) if i == wrap else plain_cell(v) for i, v in enumerate(row)]
        for row in rows
    ]
    grid = LongTable(
        [head, *body], colWidths=[c.width for c in columns], repeatRows=1, hAlign="LEFT"
    )
    commands = [
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
    ]
    commands += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i, c in enumerate(columns) if c.numeric]
    grid.setStyle(TableStyle(commands))
    return grid


def plain_cell(value: object) -> str:
    """A table cell's text with the characters Vera lacks replaced (cells are not markup)."""
    known = _fonts()
    text = str(value)
    return "".join(ch if ord(ch) in known else "?" for ch in text)


def facts(pairs: Sequence[tuple[str, str]], label_width: float = 2.4 * inch):
    """A two-column label/value table (the cover's and the summaries' key figures)."""
    rows = [
        [Paragraph(plain(k), styles()["cell"]), Paragraph(plain(v), styles()["cell"])]
        for k, v in pairs
    ]
    grid = LongTable(rows, colWidths=[label_width, WIDTH - label_width], hAlign="LEFT")
    grid.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return grid


# ------------------------------------------------------------------------------------------------
# Charts (vector drawings)
# ------------------------------------------------------------------------------------------------
def _title(drawing: Drawing, text: str) -> None:
    drawing.add(String(0, drawing.height - 11, plain_cell(text), fontName=BOLD, fontSize=9))


BAR = 13  # points per bar of a bar chart


def bar_chart_height(bars: int) -> float:
    """The height (points) of a bar chart of ``bars`` bars, axis and title included."""
    return bars * BAR + 48


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    tick: Callable[[float], str],
    label_width: float = 2.6 * inch,
) -> Drawing:
    """Horizontal bars, one per label (gains green, losses red), the value axis labelled by
    ``tick``; the first label at the top."""
    _fonts()
    bar = BAR
    height = bar_chart_height(len(labels))
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 22
    chart.width, chart.height = WIDTH - label_width - 12, len(labels) * bar
    chart.data = [list(reversed([float(v) for v in values]))]
    chart.categoryAxis.categoryNames = [plain_cell(x) for x in reversed(labels)]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = FONT, 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.labelAxisMode = "low"  # names at the left edge, not at the zero line
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = FONT, 7
    chart.valueAxis.labelTextFormat = tick
    chart.valueAxis.visibleGrid, chart.valueAxis.gridStrokeColor = True, RULE
    chart.barWidth, chart.groupSpacing = bar * 0.7, bar * 0.3
    chart.bars.strokeColor = None
    for i, value in enumerate(chart.data[0]):
        chart.bars[(0, i)].fillColor = GAIN if value >= 0 else LOSS
    drawing.add(chart)
    _title(drawing, title)
    return drawing


def _month_tick(ordinal: float) -> str:
    return dt.date.fromordinal(int(round(ordinal))).strftime("%b '%y")


def line_chart(
    dates: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[float | None], colors.Color]],
    *,
    title: str,
    tick: Callable[[float], str],
) -> Drawing:
    """Lines over dates (gaps where a value is missing), the y axis labelled by ``tick``."""
    _fonts()
    drawing = Drawing(WIDTH, 210)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 52, 34, WIDTH - 64, 150
    days = [d.toordinal() for d in dates]
    plot.data = [
        [(x, float(y)) for x, y in zip(days, values, strict=True) if y is not None]
        for _, values, _ in series
    ]
    for i, (_, _, color) in enumerate(series):
        plot.lines[i].strokeColor, plot.lines[i].strokeWidth = color, 1.2
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = days[0], days[-1]
    plot.xValueAxis.labelTextFormat = _month_tick
    plot.xValueAxis.valueSteps = _date_steps(dates)
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName, axis.labels.fontSize = FONT, 7
    plot.yValueAxis.labelTextFormat = tick
    plot.yValueAxis.visibleGrid, plot.yValueAxis.gridStrokeColor = True, RULE
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y, legend.alignment = 52, 10, "right"
    legend.columnMaximum, legend.fontName, legend.fontSize = 1, FONT, 7.5
    legend.dx, legend.dy, legend.deltax = 10, 6, 150
    legend.colorNamePairs = [(color, plain_cell(name)) for name, _, color in series]
    drawing.add(legend)
    _title(drawing, title)
    return drawing


def _date_steps(dates: Sequence[dt.date], ticks: int = 6) -> list[int]:
    """About ``ticks`` evenly spaced dates of the axis (first and last included)."""
    if len(dates) < 2:
        return [d.toordinal() for d in dates]
    step = max(1, (len(dates) - 1) // (ticks - 1))
    picked = list(dates[::step])
    if picked[-1] != dates[-1]:
        # The last date replaces a tick too close to it (their labels would overlap).
        close = (dates[-1] - picked[-1]).days < (dates[step] - dates[0]).days / 2
        picked[-1 if close and len(picked) > 1 else len(picked) :] = [dates[-1]]
    return [d.toordinal() for d in picked]


def keep(*flowables: Flowable) -> KeepTogether:
    """Flowables kept on one page (a heading with its first table, a chart with its title)."""
    return KeepTogether(list(flowables))


# ------------------------------------------------------------------------------------------------
# The document
# ------------------------------------------------------------------------------------------------
def _numbered_canvas(footer: str):
    """A canvas class that prints ``footer`` and "Page n of m" on every page (m is known only
    once the last page is laid out, so pages are kept until ``save``)."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            self.setFont(FONT, 7.5)
            self.setFillColor(MUTED)
            self.setStrokeColor(RULE)
            self.line(MARGIN, MARGIN - 14, PAGE[0] - MARGIN, MARGIN - 14)
            self.drawString(MARGIN, MARGIN - 26, plain_cell(footer))
            self.drawRightString(
                PAGE[0] - MARGIN, MARGIN - 26, f"Page {self._pageNumber} of {total}"
            )

    return NumberedCanvas


@dataclass(frozen=True)
class Rendered:
    """A built PDF and how many pages it has."""

    pdf: bytes
    pages: int


def render(story: list[Flowable], *, title: str, author: str, footer: str) -> Rendered:
    """Lay ``story`` out on US Letter pages with the numbered footer; the PDF and its pages."""
    _fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        creator="SigmaSight",
    )
    doc.build(story, canvasmaker=_numbered_canvas(footer))
    return Rendered(buffer.getvalue(), doc.page)
