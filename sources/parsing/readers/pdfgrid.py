"""A PDF page as pdfplumber's table finder sees it — characters with their boxes and ruling edges —
read with pdfium instead of pdfminer.

pdfplumber spends nearly all of its time on a table page parsing the page's content stream in
Python (pdfminer); pdfium has already parsed it in C.  :func:`page_model` reads from pdfium the two
things pdfplumber's ``TableFinder`` and ``Table.extract`` use: every character (text and box, in
pdfplumber's coordinates: points from the top-left corner) and the edges of the page's drawn paths
(straight segments of lines and rectangles, with the same filter of background rectangles as the
pdfplumber path).  pdfplumber's own table algorithm then runs on them unchanged, so the cells come
out the same at a fraction of the cost.

Every function taking a pdfium page must be called with the PDF reader's pdfium lock held.
"""

from __future__ import annotations

import ctypes
import struct
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from math import isnan
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass
class PageModel:
    """What pdfplumber's ``TableFinder`` / ``Table.extract`` read from a page (duck-typed ``Page``).

    ``chars``: one dict per printed character (``text``, ``x0``, ``x1``, ``top``, ``bottom``,
    ``doctop``, ``upright``, ``size``); ``edges``: one dict per horizontal or vertical straight
    segment (``x0``, ``x1``, ``top``, ``bottom``, ``width``, ``height``, ``orientation``,
    ``object_type``); ``bbox``: the page box ``(0, 0, width, height)``.
    """

    width: float
    height: float
    chars: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (0.0, 0.0, self.width, self.height)

    @cached_property
    def index(self) -> CharIndex:
        """The page's characters ordered by height (made once, for every table of the page)."""
        return CharIndex(self.chars)


class CharIndex:
    """A page's characters ordered three ways, for finding those of a band of the page by bisection
    instead of testing all of them: by the height of their centre (``middle_at``: the characters'
    positions in that order, ``heights``: their centre heights in it; ``middles`` / ``acrosses``: each
    character's centre height / across, by position), by their top and by their bottom (``tops`` /
    ``bottoms``, each with ``*_at``).  A character whose centre height is NaN is in no row; one whose
    box holds a NaN has no order: ``ordered`` is then false and :meth:`band` gives every character."""

    def __init__(self, chars: list[dict[str, Any]]) -> None:
        self.chars = chars
        tops, bottoms = [c["top"] for c in chars], [c["bottom"] for c in chars]
        self.middles = [(t + b) / 2 for t, b in zip(tops, bottoms, strict=True)]
        self.acrosses = [(c["x0"] + c["x1"]) / 2 for c in chars]
        middles = self.middles
        self.middle_at = sorted((i for i, m in enumerate(middles) if m == m), key=middles.__getitem__)
        self.heights = [middles[i] for i in self.middle_at]
        self.ordered = not any(map(isnan, tops)) and not any(map(isnan, bottoms))
        self.tops_at = sorted(range(len(chars)), key=tops.__getitem__) if self.ordered else []
        self.bottoms_at = sorted(range(len(chars)), key=bottoms.__getitem__) if self.ordered else []
        self.tops, self.bottoms = [tops[i] for i in self.tops_at], [bottoms[i] for i in self.bottoms_at]

    def band(self, top: float, bottom: float) -> list[dict[str, Any]]:
        """In page order, the characters that can overlap the band from ``top`` to ``bottom`` (their top
        at most ``bottom``, their bottom at least ``top``: what any overlap needs), or all of them
        when they have no order."""
        if not self.ordered:
            return self.chars
        above = bisect_right(self.tops, bottom)  # tops_at[:above]: top <= bottom
        below = bisect_left(self.bottoms, top)  # bottoms_at[below:]: bottom >= top
        near = self.tops_at[:above] if above <= len(self.chars) - below else self.bottoms_at[below:]
        return [self.chars[i] for i in sorted(near)]


def chars_within(model: PageModel, bbox: tuple[float, float, float, float]) -> PageModel:
    """A model holding only the characters whose centre lies in ``bbox`` (what ``Table.extract`` can
    place in a cell of a table there; it tests every character of its page against every row)."""
    x0, top, x1, bottom = bbox
    chars = [
        c for c in model.chars if x0 <= (c["x0"] + c["x1"]) / 2 <= x1 and top <= (c["top"] + c["bottom"]) / 2 <= bottom
    ]
    return PageModel(model.width, model.height, chars, [])


def usable(page: pdfium.PdfPage) -> bool:
    """Whether the page's coordinates are pdfplumber's: not rotated, the media box at the origin."""
    left, bottom, _right, _top = page.get_mediabox()
    return page.get_rotation() == 0 and left == 0 and bottom == 0


class LostText(Exception):
    """pdfium's text page lacks some of the page's text (see :func:`_objects`)."""


def page_model(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> PageModel | None:
    """The characters and ruling edges of one page (see :class:`PageModel`), or ``None`` when pdfium's
    text page lacks some of its text (the page is then read by pdfplumber)."""
    width, _height = page.get_size()
    _left, _bottom, _right, top = page.get_mediabox()
    model = PageModel(width, top)
    seen: dict[str, bool] = {"tilted": False}  # a text object not upright (see _objects)
    try:
        model.edges = list(_edges(page.raw, top, seen))
    except LostText:
        return None
    model.chars = _chars(textpage, top, upright=not seen["tilted"])
    return model


# ---------------------------------------------------------------------------- characters

#: Characters of pdfium's text page that are not printed text: none, line breaks, unmapped glyphs.
_NOT_PRINTED = frozenset({0, 10, 13, 0xFFFE, 0xFFFF})


def _chars(textpage: pdfium.PdfTextPage, page_top: float, upright: bool = False) -> list[dict[str, Any]]:
    """Every printed character with its box: pdfium's loose box (advance width × font ascent to
    descent, as pdfminer measures a character), or one made from the character's origin and size
    when pdfium's loose box is implausible (seen: a 200 × 200 pt box around one 10 pt character).

    ``upright``: every text object of the page is upright (see :func:`_objects`), so every
    character's angle is 0 (pdfium's is that of its object's matrix): the angle is then asked only of
    every 16th character, as a check, and of all when one of those is not 0."""
    raw = textpage.raw
    rect = pdfium_c.FS_RECTF()
    chars: list[dict[str, Any]] = []
    at: list[int] = []  # the text page's index of each character
    generated, loose_box, angle = (
        pdfium_c.FPDFText_IsGenerated,
        pdfium_c.FPDFText_GetLooseCharBox,
        pdfium_c.FPDFText_GetCharAngle,
    )
    for i, code in enumerate(_codes(raw)):
        if code in _NOT_PRINTED or (code == 32 and generated(raw, i) == 1) or not loose_box(raw, i, rect):
            continue  # pdfium inserts only spaces and line breaks: a line break is never printed text here
        x0, x1, top, bottom = rect.left, rect.right, page_top - rect.top, page_top - rect.bottom
        at.append(i)
        chars.append(
            {
                "object_type": "char",
                "text": chr(code),
                "x0": x0,
                "x1": x1,
                "top": top,
                "bottom": bottom,
                "doctop": top,
                "width": x1 - x0,
                "height": bottom - top,
                "size": bottom - top,
                "upright": True if upright else angle(raw, i) == 0,
            }
        )
    if not chars:
        return []
    if upright and any(angle(raw, i) != 0 for i in at[::16]):  # a sample disagrees: ask for every angle
        for i, c in zip(at, chars, strict=True):
            c["upright"] = angle(raw, i) == 0
    heights = sorted(c["height"] for c in chars)
    typical = heights[len(heights) // 2]
    for i, c in zip(at, chars, strict=True):
        if not (0 < c["height"] <= 2.5 * typical and 0 <= c["width"] <= 4 * typical):
            x0, x1, top, bottom = _box_from_origin(raw, i, page_top)
            c.update(x0=x0, x1=x1, top=top, bottom=bottom, doctop=top, width=x1 - x0, height=bottom - top)
            c["size"] = bottom - top
    return chars


def _codes(raw: Any) -> list[int]:
    """Each character's code on a text page, as ``FPDFText_GetUnicode`` gives it: read in one
    ``FPDFText_GetText`` call (a non-BMP character is two characters of the text page, each one
    UTF-16 unit, so the page's text is one unit a character), used when it has one unit a character
    and its first, middle and last agree with ``FPDFText_GetUnicode``; else one call a character."""
    count = pdfium_c.FPDFText_CountChars(raw)
    if count <= 0:
        return []
    units = (ctypes.c_ushort * (count + 1))()
    if pdfium_c.FPDFText_GetText(raw, 0, count, units) == count + 1:  # and the terminating NUL
        codes = list(units[:count])
        if all(codes[i] == pdfium_c.FPDFText_GetUnicode(raw, i) for i in (0, count // 2, count - 1)):
            return codes
    return [pdfium_c.FPDFText_GetUnicode(raw, i) for i in range(count)]


def _box_from_origin(raw: Any, i: int, page_top: float) -> tuple[float, float, float, float]:
    """A pdfminer-like box of character ``i``: from its origin, the advance its glyph box shows, and
    its font size (0.86 of it above the baseline, 0.14 below: a CJK font's ascent and descent)."""
    ox, oy = ctypes.c_double(), ctypes.c_double()
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    m = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFText_GetCharOrigin(raw, i, ox, oy)
    pdfium_c.FPDFText_GetCharBox(raw, i, left, right, bottom, top)
    pdfium_c.FPDFText_GetMatrix(raw, i, m)
    size = pdfium_c.FPDFText_GetFontSize(raw, i) * abs(m.a * m.d - m.b * m.c) ** 0.5
    x0 = ox.value
    x1 = max(right.value + max(left.value - x0, 0.0), x0)
    baseline = page_top - oy.value
    return x0, x1, baseline - 0.86 * size, baseline + 0.14 * size


# ---------------------------------------------------------------------------- edges

_MOVETO, _BEZIERTO = pdfium_c.FPDF_SEGMENT_MOVETO, pdfium_c.FPDF_SEGMENT_BEZIERTO


def _objects(
    container: Any, count: Any, get: Any, matrix: Matrix, seen: dict[str, bool] | None = None
) -> Iterator[tuple[Any, Matrix]]:
    """Every path object inside ``container`` (page or form), with the matrix to page space; sets
    ``seen["tilted"]`` at a text object whose matrix to page space is not upright (turned, slanted or
    mirrored: not ``b == c == 0 < a, d``).

    Raises :class:`LostText` at a text object pdfium gives no width: its text page leaves such an
    object out (one CJK character in a font that is not embedded), so the page's characters are
    incomplete."""
    m = pdfium_c.FS_MATRIX()
    box = [ctypes.c_float() for _ in range(4)]
    for i in range(count(container)):
        obj = get(container, i)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            if pdfium_c.FPDFPageObj_GetBounds(obj, *box) and box[2].value - box[0].value < 0.01:
                raise LostText
            if seen is not None and not seen["tilted"]:
                if not pdfium_c.FPDFPageObj_GetMatrix(obj, m):
                    seen["tilted"] = True
                    continue
                a, b, c, d, _e, _f = _compose((m.a, m.b, m.c, m.d, m.e, m.f), matrix)
                seen["tilted"] = not (b == 0 and c == 0 and a > 0 and d > 0)
            continue
        if kind not in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM):
            continue
        if not pdfium_c.FPDFPageObj_GetMatrix(obj, m):
            continue
        own = _compose((m.a, m.b, m.c, m.d, m.e, m.f), matrix)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            yield obj, own
        else:
            yield from _objects(obj, pdfium_c.FPDFFormObj_CountObjects, pdfium_c.FPDFFormObj_GetObject, own, seen)


def _compose(inner: Matrix, outer: Matrix) -> Matrix:
    """``inner`` then ``outer`` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _subpaths(path: Any, matrix: Matrix) -> Iterator[tuple[list[tuple[float, float]], bool, bool]]:
    """The subpaths of a path object in page space: points, closed, straight (no Bézier segment)."""
    a, b, c, d, e, f = matrix
    points: list[tuple[float, float]] = []
    closed, straight = False, True
    for px, py, kind, closes in _segments(path):
        point = (a * px + c * py + e, b * px + d * py + f)
        if kind == _MOVETO:
            if points:
                yield points, closed, straight
            points, closed, straight = [point], False, True
            continue
        if kind == _BEZIERTO:
            straight = False
        points.append(point)
        if closes:
            closed = True
    if points:
        yield points, closed, straight


#: pdfium's ``CFX_Path::Point``, what a ``FPDF_PATHSEGMENT`` points at: x, y (float), type, closes
#: the figure (one byte each), padding; a path's points lie one after another in a vector.
_POINT = struct.Struct("=ffBB2x")


def _segments(path: Any) -> list[tuple[float, float, int, int]]:
    """Each segment of a path object: its point (x, y in the path's space), type (``FPDF_SEGMENT_*``)
    and whether it closes the figure — what ``FPDFPathSegment_GetPoint`` / ``GetType`` / ``GetClose``
    give.  A path of 600 segments (reportlab draws a table's rules as one) took 2 400 calls; when the
    segments lie at the stride of pdfium's point struct, they are read in one copy instead, and used
    only when its first, middle and last segments read the same through the calls."""
    count = pdfium_c.FPDFPath_CountSegments(path)
    if count >= 16:  # below, checking the copy costs about what it saves
        first = ctypes.cast(pdfium_c.FPDFPath_GetPathSegment(path, 0), ctypes.c_void_p).value
        last = ctypes.cast(pdfium_c.FPDFPath_GetPathSegment(path, count - 1), ctypes.c_void_p).value
        if first and last and last - first == (count - 1) * _POINT.size:
            read = list(_POINT.iter_unpack(ctypes.string_at(first, count * _POINT.size)))
            if all(read[i] == _segment(path, i) for i in (0, count // 2, count - 1)):
                return read
    return [_segment(path, i) for i in range(count)]


def _segment(path: Any, i: int) -> tuple[float, float, int, int]:
    """Segment ``i`` of a path object through pdfium's calls (see :func:`_segments`)."""
    seg = pdfium_c.FPDFPath_GetPathSegment(path, i)
    x, y = ctypes.c_float(), ctypes.c_float()
    pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
    return x.value, y.value, pdfium_c.FPDFPathSegment_GetType(seg), 1 if pdfium_c.FPDFPathSegment_GetClose(seg) else 0


def _edge(p: tuple[float, float], q: tuple[float, float], page_top: float, kind: str) -> dict[str, Any] | None:
    """The edge between two points in pdfplumber's coordinates, if horizontal or vertical."""
    x0, x1 = min(p[0], q[0]), max(p[0], q[0])
    top, bottom = page_top - max(p[1], q[1]), page_top - min(p[1], q[1])
    if abs(p[1] - q[1]) < 1e-6:
        orientation = "h"
    elif abs(p[0] - q[0]) < 1e-6:
        orientation = "v"
    else:
        return None
    return {
        "object_type": kind,
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
        "orientation": orientation,
    }


def _is_rect(points: list[tuple[float, float]], closed: bool) -> bool:
    pts = points[:-1] if len(points) == 5 and points[0] == points[-1] else points
    if len(pts) != 4 or not (closed or len(points) == 5):
        return False
    xs, ys = {round(p[0], 3) for p in pts}, {round(p[1], 3) for p in pts}
    return len(xs) <= 2 and len(ys) <= 2


def _edges(page: Any, page_top: float, seen: dict[str, bool] | None = None) -> Iterator[dict[str, Any]]:
    """The straight horizontal/vertical segments of every drawn path, as pdfplumber's edges.

    A filled, unstroked rectangle thicker than 2 pt both ways is a background (WPS draws one behind
    every paragraph and header row), not a rule: it is left out, as the pdfplumber path does.
    """
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    for path, matrix in _objects(page, pdfium_c.FPDFPage_CountObjects, pdfium_c.FPDFPage_GetObject, _IDENTITY, seen):
        pdfium_c.FPDFPath_GetDrawMode(path, fill, stroke)
        if not fill.value and not stroke.value:
            continue  # a clipping path: nothing drawn
        for points, closed, straight in _subpaths(path, matrix):
            if not straight or len(points) < 2:
                continue
            if _is_rect(points, closed):
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                w, h = max(xs) - min(xs), max(ys) - min(ys)
                if not stroke.value and min(w, h) > 2.0:
                    continue
                x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
                corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
                for k in range(4):
                    edge = _edge(corners[k], corners[(k + 1) % 4], page_top, "rect_edge")
                    if edge is not None:
                        yield edge
                continue
            segments = list(zip(points, points[1:], strict=False))
            if closed and points[0] != points[-1]:
                segments.append((points[-1], points[0]))
            for p, q in segments:
                edge = _edge(p, q, page_top, "line" if len(points) == 2 else "curve_edge")
                if edge is not None:
                    yield edge
