"""Ruled tables in a page image: ruling lines by OpenCV morphology, then the cells they bound.

Pure functions of a greyscale image (numpy uint8, already deskewed).  A table is a cluster of
horizontal and vertical ruling segments that touch; its grid is the distinct line positions, and
two neighbouring grid slots belong to one (merged) cell when no ruling segment separates them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: Positions closer than this (pixels) are one ruling line (thick or doubled lines, JPEG blur).
_MERGE = 6
#: A separator must cover this share of the slot edge it separates.
_COVER = 0.6


@dataclass(frozen=True)
class Segment:
    """A ruling segment: ``pos`` is its y (horizontal) or x (vertical); it runs from ``start`` to ``end``."""

    horizontal: bool
    pos: float
    start: float
    end: float


@dataclass(frozen=True)
class Cell:
    """A cell of a ruled table: its slot range (rows ``r0..r1``, columns ``c0..c1``, inclusive)
    and its rectangle ``(x0, top, x1, bottom)`` in pixels."""

    r0: int
    c0: int
    r1: int
    c1: int
    rect: tuple[float, float, float, float]


@dataclass(frozen=True)
class Grid:
    """One ruled table: its outline, row and column line positions, and its cells."""

    rect: tuple[float, float, float, float]
    ys: tuple[float, ...]
    xs: tuple[float, ...]
    cells: tuple[Cell, ...]

    def cell_at(self, x: float, y: float) -> Cell | None:
        """The cell containing the point, or None."""
        for cell in self.cells:
            x0, top, x1, bottom = cell.rect
            if x0 <= x <= x1 and top <= y <= bottom:
                return cell
        return None


def binarize(grey: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0 (Otsu threshold), the form the morphology works on."""
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def deskew(grey: np.ndarray, angle: float) -> np.ndarray:
    """The image rotated by ``-angle`` degrees about its centre (white fill), so skewed lines become level."""
    if abs(angle) < 0.05:
        return grey
    h, w = grey.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(grey, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def _segments(mask: np.ndarray, horizontal: bool, min_len: int) -> list[Segment]:
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i][:4])
        if horizontal and w >= min_len:
            out.append(Segment(True, y + h / 2, x, x + w))
        elif not horizontal and h >= min_len:
            out.append(Segment(False, x + w / 2, y, y + h))
    return out


def ruling_segments(ink: np.ndarray, char_height: float) -> list[Segment]:
    """Horizontal and vertical ruling segments of a binarised page.

    Horizontal rules are runs longer than a 30th of the page width; vertical ones longer than one
    text-line box (``char_height``: the engine's boxes are about 1.5 glyph heights, a table row is
    at least that tall, a glyph stroke is not).  Small gaps (JPEG, a broken scan) are closed.
    """
    h, w = ink.shape[:2]
    h_len = max(30, w // 30)
    v_len = max(15, int(char_height))
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    horiz = cv2.dilate(horiz, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    vert = cv2.dilate(vert, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 9)))
    return _segments(horiz, True, h_len) + _segments(vert, False, v_len)


def _touch(a: Segment, b: Segment, tol: float) -> bool:
    if a.horizontal == b.horizontal:
        return False
    hs, vs = (a, b) if a.horizontal else (b, a)
    return hs.start - tol <= vs.pos <= hs.end + tol and vs.start - tol <= hs.pos <= vs.end + tol


def _clusters(segments: Sequence[Segment], tol: float) -> list[list[Segment]]:
    parent = list(range(len(segments)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(segments):
        for j in range(i + 1, len(segments)):
            if _touch(a, segments[j], tol):
                parent[find(i)] = find(j)
    groups: dict[int, list[Segment]] = {}
    for i, seg in enumerate(segments):
        groups.setdefault(find(i), []).append(seg)
    return list(groups.values())


def _positions(values: Sequence[float]) -> list[float]:
    """Distinct line positions: values closer than _MERGE pixels are one line (their mean)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= _MERGE:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


def _covered(segs: Sequence[Segment], pos: float, start: float, end: float) -> bool:
    """Whether ruling segments at ``pos`` cover at least _COVER of [start, end]."""
    length = 0.0
    for s in segs:
        if abs(s.pos - pos) <= _MERGE + 2:
            length += max(0.0, min(end, s.end) - max(start, s.start))
    return length >= _COVER * (end - start)


def _grid(cluster: Sequence[Segment]) -> Grid | None:
    hs = [s for s in cluster if s.horizontal]
    vs = [s for s in cluster if not s.horizontal]
    if len(hs) < 2 or len(vs) < 2:
        return None
    ys = _positions([s.pos for s in hs])
    xs = _positions([s.pos for s in vs])
    # A row that lost its bottom (or top) rule: three or more vertical rules reach past the last
    # line (one stroke of a glyph touching the table does not).
    below = sorted(s.end for s in vs if s.end - ys[-1] > 3 * _MERGE)
    if len(below) >= 3:
        ys.append(statistics.median(below))
    above = sorted(s.start for s in vs if ys[0] - s.start > 3 * _MERGE)
    if len(above) >= 3:
        ys.insert(0, statistics.median(above))
    h_left, h_right = min(s.start for s in hs), max(s.end for s in hs)
    if xs[0] - h_left > 3 * _MERGE:
        xs.insert(0, h_left)
    if h_right - xs[-1] > 3 * _MERGE:
        xs.append(h_right)
    if len(ys) < 2 or len(xs) < 3:
        return None
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = {(r, c): (r, c) for r in range(rows) for c in range(cols)}

    def find(k: tuple[int, int]) -> tuple[int, int]:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols and not _covered(vs, xs[c + 1], ys[r], ys[r + 1]):
                parent[find((r, c))] = find((r, c + 1))
            if r + 1 < rows and not _covered(hs, ys[r + 1], xs[c], xs[c + 1]):
                parent[find((r, c))] = find((r + 1, c))
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in parent:
        groups.setdefault(find(key), []).append(key)
    cells = []
    for slots in groups.values():
        r0, r1 = min(r for r, _ in slots), max(r for r, _ in slots)
        c0, c1 = min(c for _, c in slots), max(c for _, c in slots)
        cells.append(Cell(r0, c0, r1, c1, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])))
    cells.sort(key=lambda c: (c.r0, c.c0))
    return Grid((xs[0], ys[0], xs[-1], ys[-1]), tuple(ys), tuple(xs), tuple(cells))


def find_grids(ink: np.ndarray, char_height: float) -> list[Grid]:
    """The ruled tables of a binarised, deskewed page, top to bottom."""
    segments = ruling_segments(ink, char_height)
    grids = [g for g in (_grid(c) for c in _clusters(segments, tol=2 * _MERGE)) if g is not None]
    return sorted(grids, key=lambda g: (g.rect[1], g.rect[0]))


def has_ink(ink: np.ndarray, rect: tuple[float, float, float, float], char_height: float) -> bool:
    """Whether a cell holds a mark as tall as a third of a character (speckle and rules excluded)."""
    x0, top, x1, bottom = (int(round(v)) for v in rect)
    pad = max(3, _MERGE)
    crop = ink[top + pad : bottom - pad, x0 + pad : x1 - pad]
    if crop.size == 0:
        return False
    crop = cv2.morphologyEx(crop, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8)
    return any(stats[i][3] >= char_height / 3 for i in range(1, count))
