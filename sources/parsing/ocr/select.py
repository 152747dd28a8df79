"""Which scanned pages are worth reading: a cheap look before the full OCR of a long scanned report.

A full OCR pass costs seconds per page, most of it recognising every text line.  The parser needs
the pages that hold a statutory table or one of the six section headings (一、 … 六、); pages of
narrative only add nothing it checks but the narrative figures.  The cheap look finds the text
lines without recognising them (detection only), looks for a ruled table in the ink (OpenCV, the
same search as the table reader), and recognises only the first characters of each line, where a
section heading starts.  A page is skipped only when it shows none of these: doubt reads it.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass

import numpy as np

from sources.parsing.ocr import engine, grid

#: A section heading starts with a numeral of the six sections and 、 (OCR may read 、 as a comma).
_HEADING = re.compile(r"^[一二三四五六][、,，.．]")
#: Line starts recognised per page at most (a page of 60 short lines is read in full instead).
_MAX_STARTS = 60


@dataclass(frozen=True)
class Triage:
    """The verdict on one page: read it by OCR or not, why, and what the look cost (seconds)."""

    number: int
    read: bool
    why: str  # table | heading | blank | narrative | dense
    seconds: float


def triage(grey: np.ndarray, number: int) -> Triage:
    """Look at one page image cheaply: does it hold a ruled table or a section heading?"""
    started = time.perf_counter()

    def verdict(read: bool, why: str) -> Triage:
        return Triage(number, read, why, time.perf_counter() - started)

    boxes = engine.detect(grey)
    if not boxes:
        return verdict(False, "blank")
    char_h = statistics.median(b.box[3] - b.box[1] for b in boxes)
    angle = statistics.median([b.angle for b in boxes if abs(b.angle) <= 3.0] or [0.0])
    ink = grid.binarize(grid.deskew(grey, angle))
    if any(len(g.ys) >= 4 and len(g.xs) >= 3 for g in grid.find_grids(ink, char_h)):
        return verdict(True, "table")
    if len(boxes) > _MAX_STARTS:
        return verdict(True, "dense")
    h, w = grey.shape[:2]
    for b in sorted(boxes, key=lambda b: (b.box[1], b.box[0])):
        x0, top, _x1, bottom = (int(v) for v in b.box)
        crop = grey[max(top - 2, 0) : min(bottom + 2, h), max(x0 - 2, 0) : min(x0 + int(3 * char_h), w)]
        seen = engine.recognise_line(crop)
        if seen is not None and _HEADING.match(seen.text.strip()):
            return verdict(True, "heading")
    return verdict(False, "narrative")
