"""The pdfium page model (:mod:`sources.parsing.readers.pdfgrid`) gives the same table cells as
pdfplumber's own page parse, also for fonts not embedded, and is refused where pdfium's text page
lost text."""

from __future__ import annotations

import dataclasses
import io
import subprocess
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
from sources.parsing.readers import pdffont, pdftables
from sources.parsing.readers.pdfgrid import chars_within, page_model

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


def test_one_character_and_repeated_lines_of_a_font_not_embedded_are_in_the_model():
    # Without a Chinese font pdfium's text page leaves out a one-character string of a font that is
    # not embedded (its box has no width) and a line repeating one of the five before it (taken for
    # fake bold); with the box font of pdffont installed both are read.
    pdffont.install()
    repeated = "加强公共资源配置相关信息的集中发布，建立健全信息发布"
    for lines, text in (
        ([(700, "商业企"), (686, "业")], "商业企业"),
        ([(700, "商业企"), (686, "业务")], "商业企业务"),
        ([(700, repeated), (680, "应联动机制"), (660, repeated)], repeated + "应联动机制" + repeated),
    ):
        pdf = pdfium.PdfDocument(_one_page(lines))
        page = pdf[0]
        textpage = page.get_textpage()
        try:
            model = page_model(page, textpage)
            assert model is not None
            assert "".join(ch["text"] for ch in model.chars) == text
            assert [(e["orientation"], round(e["x0"]), round(e["x1"])) for e in model.edges] == [("h", 90, 300)]
        finally:
            textpage.close()
            page.close()
            pdf.close()


def test_without_the_box_font_a_page_losing_text_has_no_model(tmp_path):
    # The guard behind the font: in a process where it is not installed pdfium loses the
    # one-character line, and the page is then read by pdfplumber, not from the incomplete model.
    pdf_file = tmp_path / "one.pdf"
    pdf_file.write_bytes(_one_page([(700, "商业企"), (686, "业")]))
    script = (
        "import pypdfium2 as pdfium\n"
        "from sources.parsing.readers.pdfgrid import page_model\n"
        f"pdf = pdfium.PdfDocument({str(pdf_file)!r}); page = pdf[0]; textpage = page.get_textpage()\n"
        "print(page_model(page, textpage) is None, textpage.get_text_bounded().split())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
    ).stdout
    assert out.strip() == "True ['商业企']"


def test_font_not_embedded_model_tables_equal_pdfplumber_tables():
    # reportlab's STSong-Light is not embedded: these pages were all read by pdfplumber before.
    for split_after in ("unable_need_creation", None):
        data = factory.render_pdf(factory.make_cells("gov2021", 7), split_after=split_after)
        with_model, plumber, modelled = _tables_both_ways(data)
        assert modelled >= 2
        assert with_model == plumber
        assert len(with_model) >= 4
    with_model, plumber, modelled = _tables_both_ways((ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes())
    assert modelled == 3
    assert with_model == plumber
    rows = [row for _p, rows, *_ in with_model for row in rows]
    assert ("商业企\n业", "科研机\n构", "社会公\n益组织") in [row[:3] for row in rows]  # one-character lines read
    assert ("（三）不予公\n开", "1.属于国家秘密", "1") in [row[:3] for row in rows]


def test_box_font_is_what_its_builder_makes():
    from fontTools.ttLib import TTFont

    assert pdffont.build_box_font() == pdffont.BOX_FONT  # rebuilt by its builder, byte for byte
    font = TTFont(io.BytesIO(pdffont.BOX_FONT))
    cmap = font.getBestCmap()
    assert [cmap[ord(ch)] for ch in "业0（ 　"] == ["full", "half", "full", "space", "ideographic_space"]
    assert font["glyf"]["full"].xMax == 1000 and font["glyf"]["half"].xMax == 500
    assert font["glyf"]["full"].yMin == -120 and font["glyf"]["full"].yMax == 880


def _model_pages(data: bytes) -> list:
    scans, _title = reader._scan_with_pdfium(data, DEFAULT_LIMITS)
    return [s for s in scans if s.model is not None]


@pytest.mark.parametrize("font_file", [None, "cjk"])
def test_cells_as_pdfplumber_extracts_them_and_second_pass_left_out_only_where_it_changes_nothing(font_file):
    data = factory.render_pdf(
        factory.make_cells("gov2019", 11), split_after=None, font_file=cjk_font() if font_file else None
    )
    pages = _model_pages(data) + _model_pages((ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes())
    if HONGZEQU.is_file():
        pages += _model_pages(HONGZEQU.read_bytes())
    extracted = left_out = 0
    for scan in pages:
        for table in pdftables.find_tables(scan.model, reader._LINE_SETTINGS):
            table.page = chars_within(scan.model, table.bbox)
            assert pdftables.extract_cells(table.rows, table.page.chars) == table.extract()
            extracted += 1
        finder = pdftables.finder(scan.model, reader._LINE_SETTINGS)
        extents = [reader.ruling_extent(t.bbox, scan.model.edges) for t in finder.tables]
        left_out += bool(finder.tables) and pdftables.outlines_drawn(extents, finder.tables, finder.edges)

        def key(tables):
            return [(t.bbox, t.rows) for t in tables]

        assert key(reader._ruled_tables(scan.model, scan.number)) == key(
            reader._ruled_tables(scan.model, scan.number, second_pass=True)
        )
    assert extracted >= 8 and left_out >= 3


def test_finder_finds_the_edges_intersections_cells_and_tables_of_pdfplumbers_table_finder():
    import pdfplumber
    from pdfplumber.table import TableFinder

    data = factory.render_pdf(factory.make_cells("gov2021", 13), split_after="unable_need_creation")
    samples = [data, (ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes()]
    if HONGZEQU.is_file():
        samples.append(HONGZEQU.read_bytes())
    compared = 0
    for blob in samples:
        with pdfplumber.open(io.BytesIO(blob)) as plumber:
            for scan in reader._scan_with_pdfium(blob, DEFAULT_LIMITS)[0]:
                pages = [plumber.pages[scan.number - 1].filter(reader._is_ruling_or_content)]
                pages += [scan.model] if scan.model is not None else []
                for page in pages:
                    first = TableFinder(page, reader._LINE_SETTINGS)
                    outlines = [reader._bbox_rect(reader.ruling_extent(t.bbox, page.edges), page) for t in first.tables]
                    second = {**reader._LINE_SETTINGS, "explicit_vertical_lines": outlines}
                    second["explicit_horizontal_lines"] = outlines
                    for settings in (reader._LINE_SETTINGS, second):
                        theirs, ours = TableFinder(page, settings), pdftables.finder(page, settings)
                        assert ours.edges == theirs.edges  # the same values, in the same order
                        assert list(ours.intersections.items()) == list(theirs.intersections.items())
                        assert ours.cells == theirs.cells
                        assert [t.bbox for t in ours.tables] == [t.bbox for t in theirs.tables]
                        compared += bool(theirs.cells)
    assert compared >= 12


def test_cell_text_is_pdfplumbers_extract_text_for_any_box_of_a_page():
    import random

    from pdfplumber.utils import extract_text

    rnd = random.Random(7)
    data = factory.render_pdf(factory.make_cells("gov2021", 17), split_after=None)
    pages = _model_pages(data) + _model_pages((ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes())
    compared = multiline = 0
    for scan in pages:
        chars = scan.model.chars
        for _ in range(300):  # boxes from a word to most of the page: words, wrapped and vertical labels, narrative
            x0, top = rnd.uniform(0, scan.model.width), rnd.uniform(0, scan.model.height)
            width, height = rnd.choice([20, 60, 150, 400]), rnd.choice([8, 15, 30, 120, 400])
            inside = [
                c
                for c in chars
                if x0 <= (c["x0"] + c["x1"]) / 2 < x0 + width and top <= (c["top"] + c["bottom"]) / 2 < top + height
            ]
            if inside:
                ours = pdftables.cell_text(inside)
                assert ours == extract_text(inside)
                compared += 1
                multiline += "\n" in ours
    assert compared >= 500 and multiline >= 100


def test_char_index_band_holds_every_character_overlapping_the_band_in_page_order():
    import random

    rnd = random.Random(11)
    data = factory.render_pdf(factory.make_cells("gov2021", 19), split_after="unable_need_creation")
    pages = _model_pages(data) + _model_pages((ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes())
    compared = 0
    for scan in pages:
        model = scan.model
        for _ in range(60):
            top = rnd.uniform(-10, model.height + 10)
            bottom = top + rnd.choice([0.0, rnd.uniform(0, 40), rnd.uniform(0, model.height)])
            if rnd.random() < 0.5:  # a band ending on a character's edge: touching counts
                c, d = rnd.choice(model.chars), rnd.choice(model.chars)
                top, bottom = min(c["bottom"], d["top"]), max(c["bottom"], d["top"])
            x0, x1 = sorted(rnd.uniform(0, model.width) for _ in range(2))

            def overlaps(c, x0=x0, x1=x1, top=top, bottom=bottom):
                width = min(c["x1"], x1) - max(c["x0"], x0)
                height = min(c["bottom"], bottom) - max(c["top"], top)
                return width >= 0 and height >= 0 and width + height > 0

            band = model.index.band(top, bottom)
            assert [c for c in band if overlaps(c)] == [c for c in model.chars if overlaps(c)]
            assert len(band) <= len(model.chars)
            compared += bool(band) and len(band) < len(model.chars)
    assert compared >= 50


def test_path_segments_read_in_one_copy_are_those_pdfiums_calls_give():
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from sources.parsing.readers import pdfgrid

    blobs = [
        factory.render_pdf(factory.make_cells("gov2021", 23)),
        (ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes(),
    ]
    if HONGZEQU.is_file():
        blobs.append(HONGZEQU.read_bytes())
    copied = compared = 0
    with reader._PDFIUM_LOCK:
        for blob in blobs:
            pdf = pdfium.PdfDocument(blob)
            for index in range(len(pdf)):
                page = pdf[index]
                for obj in page.get_objects(max_depth=4):
                    if obj.type != pdfium_c.FPDF_PAGEOBJ_PATH:
                        continue
                    count = pdfium_c.FPDFPath_CountSegments(obj.raw)
                    one_by_one = [pdfgrid._segment(obj.raw, i) for i in range(count)]
                    assert pdfgrid._segments(obj.raw) == one_by_one
                    compared += count
                    if count >= 16:
                        first = ctypes.cast(pdfium_c.FPDFPath_GetPathSegment(obj.raw, 0), ctypes.c_void_p).value
                        second = ctypes.cast(pdfium_c.FPDFPath_GetPathSegment(obj.raw, 1), ctypes.c_void_p).value
                        copied += second - first == pdfgrid._POINT.size
                page.close()
            pdf.close()
    assert compared >= 1000
    assert copied >= 3  # the one-copy read is the one used here


def _pdf_with_a_character_beyond_the_bmp() -> bytes:
    """A one-page PDF whose ToUnicode maps "A" to U+20000 (two UTF-16 units) and "B" to "B"."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def /CMapType 2 def\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"2 beginbfchar <41> <D840DC00> <42> <0042> endbfchar endcmap CMapName currentdict /CMap defineresource"
        b" pop end end"
    )
    content = b"BT /F1 24 Tf 72 700 Td (ABAB) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_character_codes_read_in_one_call_are_those_pdfiums_calls_give():
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from sources.parsing.readers import pdffont, pdfgrid

    blobs = [
        _pdf_with_a_character_beyond_the_bmp(),
        factory.render_pdf(factory.make_cells("gov2021", 29)),
        factory.render_pdf(factory.make_cells("gov2019", 29), font_file=cjk_font()),
        (ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes(),
    ]
    if HONGZEQU.is_file():
        blobs.append(HONGZEQU.read_bytes())
    compared = 0
    with reader._PDFIUM_LOCK:
        pdffont.install()
        for blob in blobs:
            pdf = pdfium.PdfDocument(blob)
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                count = pdfium_c.FPDFText_CountChars(textpage.raw)
                one_by_one = [pdfium_c.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
                assert pdfgrid._codes(textpage.raw) == one_by_one
                compared += count
                textpage.close()
                page.close()
            pdf.close()
    first = pdfium.PdfDocument(blobs[0])
    textpage = first[0].get_textpage()
    assert pdfgrid._codes(textpage.raw)[:3] == [0xD840, 0xDC00, 0x42]  # U+20000 is two characters
    textpage.close()
    first.close()
    assert compared >= 3000


def test_cells_to_tables_groups_cells_as_pdfplumber_does():
    import random

    from pdfplumber.table import cells_to_tables

    rnd = random.Random(5)
    for _ in range(400):
        xs = sorted(rnd.sample(range(0, 60, 3), rnd.randint(2, 6)))
        ys = sorted(rnd.sample(range(0, 60, 3), rnd.randint(2, 6)))
        cells = [
            (float(x0), float(y0), float(x1), float(y1))
            for x0, x1 in zip(xs, xs[1:], strict=False)
            for y0, y1 in zip(ys, ys[1:], strict=False)
            if rnd.random() < 0.7
        ]
        cells += [(x0 + 100, y0, x1 + 100, y1) for x0, y0, x1, y1 in cells if rnd.random() < 0.5]  # a second table
        cells += rnd.sample(cells, min(len(cells), rnd.randint(0, 2)))  # cells found twice
        rnd.shuffle(cells)
        assert pdftables.cells_to_tables(cells) == cells_to_tables(cells)


def _pdf_with_turned_text() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.drawString(72, 720, "upright text 123")
    pdf.saveState()
    pdf.translate(300, 400)
    pdf.rotate(90)
    pdf.drawString(0, 0, "turned text 456")
    pdf.restoreState()
    pdf.line(72, 100, 400, 100)
    pdf.showPage()
    pdf.drawString(72, 720, "all upright here")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def test_characters_are_upright_as_pdfium_gives_their_angle():
    import pypdfium2 as pdfium

    from sources.parsing.readers import pdffont, pdfgrid

    blobs = [
        _pdf_with_turned_text(),
        factory.render_pdf(factory.make_cells("gov2021", 31)),
        factory.render_pdf(factory.make_cells("gov2021", 31), font_file=cjk_font()),
        (ROOT / "sources" / "samples" / "xzf-2023.pdf").read_bytes(),
    ]
    if HONGZEQU.is_file():
        blobs.append(HONGZEQU.read_bytes())
    tilted, upright = [], 0
    with reader._PDFIUM_LOCK:
        pdffont.install()
        for blob in blobs:
            pdf = pdfium.PdfDocument(blob)
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                top = page.get_mediabox()[3]
                seen = {"tilted": False}
                list(pdfgrid._edges(page.raw, top, seen))
                every_angle = pdfgrid._chars(textpage, top)
                assert pdfgrid._chars(textpage, top, upright=not seen["tilted"]) == every_angle
                tilted.append(seen["tilted"])
                upright += not seen["tilted"] and bool(every_angle)
                if seen["tilted"]:
                    assert not all(c["upright"] for c in every_angle)
                    # told wrongly that all is upright, the sampled angles still catch it here
                    assert pdfgrid._chars(textpage, top, upright=True) == every_angle
                textpage.close()
                page.close()
            pdf.close()
    assert tilted[:2] == [True, False]  # the turned text is seen; the page without it is upright
    assert upright >= 8
