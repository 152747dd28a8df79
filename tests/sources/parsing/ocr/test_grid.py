"""Ruled tables found in a page image (OpenCV morphology) and the OCR cell rules — no OCR engine run."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from sources.parsing.ocr import grid  # noqa: E402
from sources.parsing.ocr.page import MIN_CONFIDENCE, cell_status, det_side  # noqa: E402


def _table_image(angle: float = 0.0) -> np.ndarray:
    """A white page with a 3-row ruled table: a header cell spanning two columns, and a cell
    spanning two rows on the left (a vertical group label)."""
    img = np.full((400, 600), 255, np.uint8)
    xs, ys = [50, 200, 350, 500], [50, 100, 150, 200]
    for y in ys:
        cv2.line(img, (xs[0], y), (xs[-1], y), 0, 2)
    for x in (xs[0], xs[-1]):
        cv2.line(img, (x, ys[0]), (x, ys[-1]), 0, 2)
    cv2.line(img, (xs[1], ys[0]), (xs[1], ys[-1]), 0, 2)  # full-height column rule
    cv2.line(img, (xs[2], ys[1]), (xs[2], ys[-1]), 0, 2)  # not in the header row: the header spans
    # the left column: no rule between rows 2 and 3 (a merged cell)
    cv2.line(img, (xs[0] + 2, ys[2]), (xs[1] - 2, ys[2]), 255, 4)
    cv2.putText(img, "12", (260, 135), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    for _ in range(300):  # scanner speckle
        img[np.random.default_rng(1).integers(0, 400), np.random.default_rng(2).integers(0, 600)] = 0
    if angle:
        img = grid.deskew(img, -angle)
    return img


def test_ruled_table_cells_with_spans():
    ink = grid.binarize(_table_image())
    grids = grid.find_grids(ink, char_height=24)
    assert len(grids) == 1
    g = grids[0]
    spans = sorted((c.r0, c.c0, c.r1, c.c1) for c in g.cells)
    assert spans == [
        (0, 0, 0, 0),  # header label
        (0, 1, 0, 2),  # header spanning two columns
        (1, 0, 2, 0),  # group label spanning two rows
        (1, 1, 1, 1),
        (1, 2, 1, 2),
        (2, 1, 2, 1),
        (2, 2, 2, 2),
    ]
    cell = g.cell_at(275, 125)
    assert cell is not None and (cell.r0, cell.c0) == (1, 1)
    assert grid.has_ink(ink, cell.rect, 24)
    empty = g.cell_at(425, 175)
    assert empty is not None and not grid.has_ink(ink, empty.rect, 24)


def test_skewed_table_is_found_after_deskewing():
    skewed = _table_image(angle=1.0)
    assert len(grid.find_grids(grid.binarize(grid.deskew(skewed, 1.0)), 24)[0].cells) == 7


def test_cell_status_never_lets_a_doubtful_number_through():
    assert cell_status("27", 0.99, True) == "ok"
    assert cell_status("27", MIN_CONFIDENCE - 0.01, True) == "low_confidence"
    assert cell_status("2O", 0.99, True) == "unreadable"  # a letter O where a digit stands
    assert cell_status("l2", 0.99, True) == "unreadable"
    assert cell_status("", None, True) == "unreadable"  # ink, but nothing recognised
    assert cell_status("", None, False) == "ok"  # a blank cell
    assert cell_status("本年新收", 0.5, True) == "ok"  # labels are matched by the assembler
    assert cell_status("—", 0.99, True) == "ok"  # a placeholder is a value


def test_detection_scale_is_smaller_only_for_pdf_pages_of_at_most_a4():
    a4, a3 = (2339, 1654), (3307, 2339)  # rendered at 200 dpi
    assert det_side(a4, rendered=True) == 1024
    assert det_side((1654, 2339), rendered=True) == 1024  # landscape
    assert det_side(a3, rendered=True) == 1280  # table text would shrink below what detection sees
    assert det_side(a4, rendered=False) == 1280  # an image file: a tall screenshot keeps its small text
    assert det_side((4000, 900), rendered=False) == 1280
