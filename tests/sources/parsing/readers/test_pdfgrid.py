"""The pdfium page model (:mod:`sources.parsing.readers.pdfgrid`) gives the same table cells as
pdfplumber's own page parse, and is refused where pdfium's text page lost text."""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from refdata import SHARED
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from sources.parsing.limits import DEFAULT_LIMITS
from sources.parsing.readers import pdf as reader
from sources.parsing.readers.pdfgrid import page_model

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "tests"))
import factory  # noqa: E402
from ocrkit import cjk_font  # noqa: E402

HONGZEQU = SHARED / "corpus" / "docs" / "hongzequ-2023.pdf"


def _tables_both_ways(data: bytes) -> tuple[list[tuple], list[tuple], int]:
    """The tables of every table page from the page models and from pdfplumber; pages with a model."""
    scans, _title = reader._scan_with_pdfium(data, DEFAULT_LIMITS)
    pages = [s for s in scans if not s.needs_ocr and reader.is_table_page(s.text)]
    with_model, _ = reader._extract_tables(data, pages)
    plumber, _ = reader._extract_tables(data, [dataclasses.replace(s, model=None) for s in pages])

    def key(tables):
        return [(t.page, t.rows, t.starts_page, t.ends_page) for t in tables]

    return key(with_model), key(plumber), sum(s.model is not None for s in pages)


@pytest.mark.parametrize("split_after", ["unable_need_creation", "not_processed_duplicate", None])
def test_model_tables_equal_pdfplumber_tables(split_after):
    cells = factory.make_cells("gov2021", 5)
    data = factory.render_pdf(cells, split_after=split_after, font_file=cjk_font())
    with_model, plumber, modelled = _tables_both_ways(data)
    assert modelled >= 2  # the table pages were read from pdfium
    assert with_model == plumber
    assert len(with_model) >= 4


def test_real_report_tables_equal_pdfplumber_tables():
    if not HONGZEQU.is_file():
        pytest.skip("../shared/corpus is not present beside the checkout; reference-data test skipped")
    with_model, plumber, modelled = _tables_both_ways(HONGZEQU.read_bytes())
    assert modelled >= 2
    assert with_model == plumber
    vertical = [cell for _p, rows, *_ in with_model for row in rows for cell in row if cell.startswith("三\n、\n本")]
    assert vertical  # 三、本年度办理结果 printed vertically stays one cell


def _one_page(lines: list[tuple[float, str]]) -> bytes:
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("STSong-Light", 12)
    for y, text in lines:
        c.drawString(100, y, text)
    c.line(90, 600, 300, 600)
    c.save()
    return buf.getvalue()


def test_page_losing_one_character_lines_has_no_model():
    # pdfium's text page leaves out a one-character string in a font that is not embedded
    for lines, has_model in (([(700, "商业企"), (686, "业")], False), ([(700, "商业企"), (686, "业务")], True)):
        pdf = pdfium.PdfDocument(_one_page(lines))
        page = pdf[0]
        textpage = page.get_textpage()
        try:
            model = page_model(page, textpage)
            assert (model is not None) is has_model
            if model is not None:
                assert "".join(ch["text"] for ch in model.chars) == "商业企业务"
                assert [(e["orientation"], round(e["x0"]), round(e["x1"])) for e in model.edges] == [("h", 90, 300)]
        finally:
            textpage.close()
            page.close()
            pdf.close()
