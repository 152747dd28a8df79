"""The second look at a value cell the page pass read without confidence: the glyphs alone, cut out of
the scanner's specks and the rules, confirm the reading — and never replace it with another.

The cells are as the parser cut them (inside their ruling lines, 200 dpi) from a 150 dpi greyscale
JPEG rendering with scanner speckle of a published report's 表三: each prints 0, which the page
pass read as "0" with a confidence of 0.59, 0.81 and 0.73, so the cell was null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rapidocr")
import cv2  # noqa: E402 - installed with the OCR engine

from sources.parsing.ocr.page import MIN_CONFIDENCE, _Page, ink_alone  # noqa: E402

CELLS = Path(__file__).parent / "cells"


def _cell(name: str) -> np.ndarray:
    image = cv2.imread(str(CELLS / name), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def _second_look(image: np.ndarray, text: str, confidence: float) -> tuple[str, object]:
    h, w = image.shape[:2]
    page = _Page(4, 72 / 200, np.eye(2, 3), image, image, 46.0, image)
    return page._second_look((0.0, 0.0, float(w), float(h)), (0.0, 0.0, 1.0, 1.0), text, confidence, "low_confidence")


@pytest.mark.parametrize(("name", "first"), [("zero-a.png", 0.5931), ("zero-b.png", 0.8077), ("zero-c.png", 0.7344)])
def test_a_speckled_zero_read_without_confidence_is_confirmed_by_its_glyph_alone(name, first):
    text, source = _second_look(_cell(name), "0", first)
    assert text == "0"
    assert source.status == "ok" and source.text == "0"
    assert source.confidence >= MIN_CONFIDENCE


@pytest.mark.parametrize("name", ["zero-a.png", "zero-b.png", "zero-c.png"])
def test_the_second_look_never_replaces_the_reading_with_another(name):
    """Had the page pass read "8" here, the glyph alone reading "0" does not make it "0" (nor "8")."""
    text, source = _second_look(_cell(name), "8", 0.7)
    assert text == "8"
    assert source.status == "low_confidence" and source.confidence == 0.7


def test_ink_alone_drops_specks_and_rules():
    """An empty cell with scanner specks and its rules at the edges has no glyph; a cell with a 0 is cut
    to the 0 (one blob, no speck, no rule)."""
    assert ink_alone(_cell("blank.png")) is None
    alone = ink_alone(_cell("zero-a.png"))
    assert alone is not None and alone.shape[0] < 60 and alone.shape[1] < 60
    _, dark = cv2.threshold(alone, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    assert cv2.connectedComponents(dark)[0] == 2  # the background and the 0
