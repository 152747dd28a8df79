"""One page image → its text and its tables as physical rows, every cell with its OCR provenance.

The engine reads text lines on the page as scanned (a skew of a degree does not hurt it); the
page's skew, measured on those lines, is then removed from the image for the ruling-line search
and from the boxes' positions, so boxes fall into the cells the lines bound.  Tables without
ruling lines are rebuilt from box positions.  Rows are what the text readers hand to the
assembler: each merged cell once, in the row of its top edge.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from sources.parsing.document import CellSource
from sources.parsing.numbers import looks_like_value
from sources.parsing.ocr import engine, grid
from sources.parsing.readers.pdf import is_footer_line, table_blocks

#: A value the engine read with a lower confidence is not used (null, ``ocr_low_confidence``).
MIN_CONFIDENCE = 0.90
#: A page skewed by more than this (degrees) is read as it is: the measure is not trusted.
_MAX_SKEW = 3.0
#: A value cell's crop (the evidence a person compares with the value read) is at most this wide.
CROP_WIDTH = 360
_CROP_MARGIN = 6  # pixels of the scan kept around a cell: its ruling lines show where it ends
_CJK = re.compile(r"[\u3400-\u9fff]")
#: A rendered PDF page no longer than this (pixels; A4 at 200 dpi is 2339) is detected at
#: :data:`~sources.parsing.ocr.engine.PAGE_DET_SIDE`.
_A4_SIDE = 2400

Rect = tuple[float, float, float, float]


@dataclass
class OcrTable:
    """A table found on one page: rows of physical cells and, cell for cell, their provenance."""

    page: int
    bbox: Rect  # page coordinates
    rows: list[tuple[str, ...]]
    sources: list[tuple[CellSource, ...]]
    frame: Rect = (0.0, 0.0, 0.0, 0.0)  # deskewed pixels, for what lies above and below it
    starts_page: bool = False
    ends_page: bool = False
    from_words: bool = False


@dataclass
class OcrPage:
    """What OCR read on one page: reading-order text, tables, and figures for the bench."""

    number: int
    text: str
    tables: list[OcrTable] = field(default_factory=list)
    boxes: int = 0
    seconds: float = 0.0


@dataclass
class _Box:
    """An engine box with its centre in the deskewed frame."""

    text: str
    confidence: float
    box: Rect  # as scanned, pixels
    cx: float
    cy: float
    height: float


def cell_status(text: str, confidence: float | None, ink: bool) -> str:
    """``ok``, ``low_confidence`` or ``unreadable`` for one cell's OCR reading.

    Labels (text with Chinese characters) are always ``ok``: the assembler matches them with its
    usual tolerance.  A value (number, placeholder) below :data:`MIN_CONFIDENCE` is
    ``low_confidence``; anything else without Chinese characters stands where a number does and
    holds a character that is not part of one (``1O``, ``l2``), or ink was seen where nothing
    could be read: ``unreadable``.
    """
    t = text.strip()
    if not t:
        return "unreadable" if ink else "ok"
    if looks_like_value(t):
        return "ok" if confidence is not None and confidence >= MIN_CONFIDENCE else "low_confidence"
    if _CJK.search(t):
        return "ok"
    return "unreadable"


#: Ink blobs of fewer pixels than this are scanner specks to a second look (a 200 dpi glyph stroke is
#: far larger; a decimal point may not be, which is why that look only ever confirms a reading).
_SPECK_PIXELS = 12


def ink_alone(crop: np.ndarray, margin: int = 6) -> np.ndarray | None:
    """A cell's crop reduced to its glyphs: white where there are specks (blobs under
    :data:`_SPECK_PIXELS` pixels) or pieces of ruling lines (blobs touching the crop's edge), cut to
    the glyphs' box with ``margin`` pixels; None when no glyph is left."""
    _, dark = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    h, w = crop.shape[:2]
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    inner = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    keep = np.flatnonzero((area >= _SPECK_PIXELS) & inner)
    keep = keep[keep > 0]  # label 0 is the background
    if keep.size == 0:
        return None
    out = np.where(np.isin(labels, keep), crop, 255).astype(np.uint8)
    x0, y0 = max(int(x[keep].min()) - margin, 0), max(int(y[keep].min()) - margin, 0)
    x1, y1 = int((x[keep] + bw[keep]).max()) + margin, int((y[keep] + bh[keep]).max()) + margin
    return out[y0:y1, x0:x1]


def skew_of(boxes: Sequence[engine.TextBox]) -> float:
    """The page's skew in degrees: the median top-edge angle of the wide text boxes (0 when unsure)."""
    angles = [
        b.angle for b in boxes if (b.box[2] - b.box[0]) >= 4 * (b.box[3] - b.box[1]) and abs(b.angle) <= _MAX_SKEW
    ]
    return statistics.median(angles) if len(angles) >= 3 else 0.0


def det_side(shape: tuple[int, ...], rendered: bool) -> int:
    """The long side (pixels) an image of ``shape`` (height, width) is scaled to for text detection:
    smaller for a PDF page rendered for OCR of at most A4 size, the engine's default otherwise."""
    return engine.PAGE_DET_SIDE if rendered and max(shape[:2]) <= _A4_SIDE else engine.DET_SIDE


def read_page(grey: np.ndarray, number: int, scale: float, rendered: bool = False) -> OcrPage:
    """OCR one greyscale page image; ``scale`` converts its pixels to page coordinates; ``rendered``:
    a PDF page rendered for OCR (of at most A4 size it is detected at a smaller scale)."""
    started = time.perf_counter()
    found = [b for b in engine.recognise(grey, det_side(grey.shape[:2], rendered)) if b.text.strip()]
    angle = skew_of(found)
    h, w = grey.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    inverse = cv2.invertAffineTransform(matrix)
    boxes = [_deskewed(b, matrix) for b in found]
    char_h = statistics.median([b.height for b in boxes]) if boxes else 30.0
    level = grid.deskew(grey, angle)
    ink = grid.binarize(level)
    page = _Page(number, scale, inverse, level, ink, char_h, grey)
    tables: list[OcrTable] = []
    free = list(boxes)
    for g in grid.find_grids(ink, char_h):
        inside = [b for b in free if _inside(g.rect, b.cx, b.cy)]
        if not inside:
            continue  # a frame or a box around text, not a table
        free = [b for b in free if b not in inside]
        table = page.ruled_table(g, inside)
        if table.rows:
            tables.append(table)
    lines = _lines(free, char_h)
    if not tables:
        tables = page.word_tables(lines)
    body = [line for line in lines if not is_footer_line(_line_text(line))]
    for table in tables:
        _, top, _, bottom = table.frame
        table.starts_page = not any(line[0].cy < top for line in body)
        table.ends_page = not any(line[0].cy > bottom for line in body)
    text = "\n".join(_line_text(line) for line in _lines(boxes, char_h) if not is_footer_line(_line_text(line)))
    return OcrPage(number, text, tables, len(found), time.perf_counter() - started)


def _deskewed(b: engine.TextBox, matrix: np.ndarray) -> _Box:
    x = (b.box[0] + b.box[2]) / 2
    y = (b.box[1] + b.box[3]) / 2
    cx, cy = matrix @ np.array([x, y, 1.0])
    height = (b.box[3] - b.box[1]) - abs(b.box[2] - b.box[0]) * abs(np.sin(np.radians(b.angle)))
    return _Box(b.text, b.confidence, b.box, float(cx), float(cy), max(float(height), 1.0))


def _inside(rect: Rect, x: float, y: float) -> bool:
    return rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3]


def _lines(boxes: Sequence[_Box], char_h: float) -> list[list[_Box]]:
    """Boxes grouped into printed lines (centres within half a line height), top to bottom, left to right."""
    lines: list[list[_Box]] = []
    for b in sorted(boxes, key=lambda b: b.cy):
        if lines and abs(b.cy - statistics.fmean(x.cy for x in lines[-1])) <= char_h / 2:
            lines[-1].append(b)
        else:
            lines.append([b])
    return [sorted(line, key=lambda b: b.cx) for line in lines]


def _line_text(line: Sequence[_Box]) -> str:
    return " ".join(b.text.strip() for b in line)


def _union(rects: Sequence[Rect]) -> Rect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


@dataclass
class _Page:
    """One page being read: its images and the conversions from pixels to page coordinates."""

    number: int
    scale: float
    inverse: np.ndarray  # deskewed frame → scanned image
    level: np.ndarray  # deskewed greyscale
    ink: np.ndarray  # deskewed, binarised
    char_h: float
    grey: np.ndarray | None = None  # as scanned (word-table cells are cropped from it)

    def to_page(self, rect: Rect, deskewed: bool = False) -> Rect:
        """A pixel rectangle (of the scanned image, or of the deskewed frame) in page coordinates."""
        if deskewed:
            x0, top, x1, bottom = rect
            corners = np.array([[x0, top, 1.0], [x1, top, 1.0], [x0, bottom, 1.0], [x1, bottom, 1.0]])
            pts = corners @ self.inverse.T
            rect = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
        return (rect[0] * self.scale, rect[1] * self.scale, rect[2] * self.scale, rect[3] * self.scale)

    def cell(self, rect: Rect, boxes: Sequence[_Box], ruled: bool = True) -> tuple[str, CellSource]:
        """The text of one cell and its provenance (with the cell's image for a value cell), from the
        boxes inside it (or a second look at a ruled cell's crop, ``rect`` in the deskewed frame)."""
        text, source = self._read(rect, boxes, ruled)
        if (text.strip() or source.status != "ok") and not _CJK.search(text):
            source = replace(source, crop=self._crop(rect if ruled else None, boxes))
        return text, source

    def _crop(self, rect: Rect | None, boxes: Sequence[_Box]) -> bytes | None:
        """The PNG of a cell as scanned: the ruled cell (deskewed frame) or its boxes (scanned image)."""
        if rect is not None and rect[2] > rect[0]:
            image = self.level
        elif boxes and self.grey is not None:
            image, rect = self.grey, _union([b.box for b in boxes])
        else:
            return None
        h, w = image.shape[:2]
        m = _CROP_MARGIN
        x0, top = max(int(rect[0]) - m, 0), max(int(rect[1]) - m, 0)
        x1, bottom = min(int(rect[2]) + m + 1, w), min(int(rect[3]) + m + 1, h)
        crop = image[top:bottom, x0:x1]
        if crop.size == 0:
            return None
        if crop.shape[1] > CROP_WIDTH:
            k = CROP_WIDTH / crop.shape[1]
            crop = cv2.resize(crop, (CROP_WIDTH, max(int(crop.shape[0] * k), 1)), interpolation=cv2.INTER_AREA)
        # zlib level 6, not 9: a quarter of the time (the crop of every value cell is encoded, 0.09 s
        # per dense page at 9) for 1.6 % more bytes (measured on the 200 value cells of the sample)
        ok, png = cv2.imencode(".png", crop, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        return png.tobytes() if ok else None

    def _read(self, rect: Rect, boxes: Sequence[_Box], ruled: bool) -> tuple[str, CellSource]:
        if boxes:
            text = "\n".join("".join(b.text.strip() for b in line) for line in _lines(boxes, self.char_h))
            confidence: float | None = min(b.confidence for b in boxes)
            box = self.to_page(_union([b.box for b in boxes]))
            status = cell_status(text, confidence, True)
            if status == "ok" or _CJK.search(text) or not ruled:
                return text, CellSource(self.number, box, text, confidence, status)
            return self._second_look(rect, box, text, confidence, status)
        box = self.to_page(rect, deskewed=True)
        if not grid.has_ink(self.ink, rect, self.char_h):
            return "", CellSource(self.number, box, "", None, "ok")
        # Ink but no detected line (a lone thin digit): recognise the cell's crop without detection.
        return self._second_look(rect, box, "", None, "unreadable")

    def _second_look(
        self, rect: Rect, box: Rect, text: str, confidence: float | None, status: str
    ) -> tuple[str, CellSource]:
        """Read a value cell again from its own crop, speckle removed, when the page pass was not usable.

        The crop inside the ruling lines is median-filtered (scanner dots read as "." or noise)
        and recognised without detection.  Only a reading that is itself a clean, confident value
        replaces the first one; otherwise the first reading stands with its status.
        """
        pad = 4
        x0, top, x1, bottom = (int(round(v)) for v in rect)
        crop = self.level[top + pad : bottom - pad, x0 + pad : x1 - pad]
        if crop.size == 0:
            return text, CellSource(self.number, box, text, confidence, status)
        seen = engine.recognise_line(cv2.medianBlur(crop, 3))
        if seen is not None and cell_status(seen.text.strip(), seen.confidence, True) == "ok" and seen.text.strip():
            again = seen.text.strip()
            return again, CellSource(self.number, box, again, seen.confidence, "ok")
        if text.strip() and (alone := ink_alone(crop)) is not None:
            # The glyphs alone, cut out of the speckle and the edges of the rules: a reading that
            # confirms the page pass's text confidently is used.  Only confirms: the look drops
            # specks the size of a decimal point, so a different text is never taken from it.
            seen = engine.recognise_line(alone)
            if seen is not None and seen.text.strip() == text.strip() and seen.confidence >= MIN_CONFIDENCE:
                return text, CellSource(self.number, box, text, seen.confidence, "ok")
        return text, CellSource(self.number, box, text, confidence, status)

    def ruled_table(self, g: grid.Grid, boxes: Sequence[_Box]) -> OcrTable:
        """Rows of a ruled table: every cell once, in the row of its top edge, left to right."""
        by_cell: dict[grid.Cell, list[_Box]] = {}
        for b in boxes:
            cell = g.cell_at(b.cx, b.cy)
            if cell is not None:
                by_cell.setdefault(cell, []).append(b)
        rows: list[tuple[str, ...]] = []
        sources: list[tuple[CellSource, ...]] = []
        for r in range(len(g.ys) - 1):
            texts: list[str] = []
            srcs: list[CellSource] = []
            for cell in (c for c in g.cells if c.r0 == r):
                text, src = self.cell(cell.rect, by_cell.get(cell, []))
                texts.append(text)
                srcs.append(src)
            if any(texts) or any(s.status != "ok" for s in srcs):
                rows.append(tuple(texts))
                sources.append(tuple(srcs))
        return OcrTable(self.number, self.to_page(g.rect, deskewed=True), rows, sources, frame=g.rect)

    def word_tables(self, lines: Sequence[Sequence[_Box]]) -> list[OcrTable]:
        """Tables rebuilt from box positions on a page without ruling lines (one box, one cell)."""
        body = [line for line in lines if not is_footer_line(_line_text(line))]
        cells = [self._split(line) for line in body]
        tables = []
        for start, end in table_blocks([len(c) for c in cells]):
            rows: list[tuple[str, ...]] = []
            sources: list[tuple[CellSource, ...]] = []
            for line in cells[start:end]:
                pairs = [self.cell((0, 0, 0, 0), group, ruled=False) for group in line]
                rows.append(tuple(t for t, _ in pairs))
                sources.append(tuple(s for _, s in pairs))
            if max(len(r) for r in rows) < 2:
                continue
            block = [b for line in body[start:end] for b in line]
            rect = self.to_page(_union([b.box for b in block]))
            frame = (
                min(b.cx for b in block),
                min(b.cy for b in block),
                max(b.cx for b in block),
                max(b.cy for b in block),
            )
            tables.append(OcrTable(self.number, rect, rows, sources, frame=frame, from_words=True))
        return tables

    def _split(self, line: Sequence[_Box]) -> list[list[_Box]]:
        """A line's boxes as cells: a gap wider than a character height starts a new cell."""
        out: list[list[_Box]] = []
        for b in line:
            if out and b.box[0] - out[-1][-1].box[2] <= self.char_h * 0.6:
                out[-1].append(b)
            else:
                out.append([b])
        return out
