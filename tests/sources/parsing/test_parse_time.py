"""A parse never takes longer than its limit, OCR included: the parse clock is never extended, a page
(or image) is read by OCR only when it fits in the time left, and one that does not stays unread with
its reason — the document keeps what was read, or ends as ``parse_timeout`` when nothing was.

OCR's own speed is never measured here: ``ocr_page_seconds`` (the time a page may take, which must be
left on the clock to start one) is set above the limit, so that no page fits, whatever the machine."""

from __future__ import annotations

import io
from pathlib import Path

import factory
import ocrkit
import pytest
from PIL import Image, ImageDraw

from sources.parsing.limits import ReadLimits
from sources.parsing.parse import parse_bytes

NO_PAGE_FITS = ReadLimits(parse_seconds=60.0, ocr_page_seconds=60.0)


def _sample(name: str) -> bytes:
    return (Path(__file__).resolve().parents[3] / "sources" / "samples" / name).read_bytes()


def _scan_page() -> Image.Image:
    """A page image with a few lines of ink (what a scanned narrative page shows)."""
    img = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(img)
    for y in range(200, 1400, 60):
        draw.rectangle([150, y, 1000, y + 20], fill=0)
    return img


def _with_scanned_page(pdf: bytes) -> bytes:
    """``pdf`` with one image-only page appended (its last page)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    doc.import_pages(pdfium.PdfDocument(ocrkit.image_pdf([_scan_page()], 150)))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_an_ocr_page_that_does_not_fit_is_left_with_its_reason_and_the_text_is_kept():
    text = _sample("xzf-2023.pdf")
    plain = parse_bytes(text, "r.pdf")
    mixed = _with_scanned_page(text)
    result = parse_bytes(mixed, "r.pdf", limits=NO_PAGE_FITS)
    assert result["error"] is None and result["source"]["pages"] == plain["source"]["pages"] + 1
    assert "ocr_pages" not in result["source"]  # nothing was read by OCR
    assert [(c["address"], c["value"]) for c in result["cells"]] == [(c["address"], c["value"]) for c in plain["cells"]]
    (late,) = [i for i in result["issues"] if i["code"] == "ocr_needed"]
    assert late["page"] == plain["source"]["pages"] + 1 and late["severity"] == "warning"
    assert "not read by OCR within the parse time limit of 60 s" in late["message"]
    from sources.chinese import issue_text

    assert "60 秒的解析时限内未能做 OCR" in issue_text(late) and "parse_seconds" in issue_text(late)


@pytest.mark.parametrize("kind", ["scanned pdf", "png"])
def test_a_scan_of_which_no_page_fits_ends_as_parse_timeout(kind):
    page = _scan_page()
    data = ocrkit.image_pdf([page, page], 150) if kind == "scanned pdf" else ocrkit.image_bytes(page, "PNG", 150)
    result = parse_bytes(data, "scan", limits=NO_PAGE_FITS)
    assert result["error"] and [i["code"] for i in result["issues"]] == ["parse_timeout"]
    assert "解析超过 60 秒" in result["error"]


def test_a_body_image_that_does_not_fit_is_left_with_its_reason():
    page, png = ocrkit.html_with_table_image(factory.make_facts(seed=3))
    result = parse_bytes(page, "page.html", images={"t3.png": png}, limits=NO_PAGE_FITS)
    assert result["error"] is None and not any(i["code"] == "ocr_page" for i in result["issues"])
    (late,) = [i for i in result["issues"] if i["code"] == "ocr_needed"]
    assert late["message"] == "1 image(s) of the body were not read by OCR within the parse time limit of 60 s"
    # 表三 was the image: a report whose 表三 could not be read (never "not a statutory report"), its
    # other tables read from the page
    assert result["template"] == "gov2021"
    codes = {i["code"]: i for i in result["issues"]}
    assert "not_statutory_report" not in codes and "未能 OCR" in codes["table_unreadable"]["message"]
    cells = {c["address"]: c for c in result["cells"]}
    t3 = [c for a, c in cells.items() if a.startswith("t3.")]
    assert t3 and all(c["value"] is None and "未能 OCR" in c["reason"] for c in t3)
    assert any(c["value"] is not None for a, c in cells.items() if a.startswith("t4."))


def test_the_parse_clock_runs_out_before_the_limit_and_is_never_extended():
    from sources.parsing.limits import PageBudget

    limits = ReadLimits(parse_seconds=10.0, ocr_page_seconds=3.0).started()
    assert limits.left() <= 9.0  # a second of margin: the parse ends before a guard kills it at 10 s
    assert not hasattr(limits, "extended")
    budget = PageBudget(limits)
    assert budget.fits()
    budget.spent(9.5)  # a page as slow as this one would not fit any more
    assert not budget.fits()
    assert ReadLimits.from_settings({"ocr_page_seconds": "2.5"}).ocr_page_seconds == 2.5
