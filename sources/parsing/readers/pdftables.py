"""pdfplumber's table algorithm on a page (a pdfplumber ``Page`` or a pdfium
:class:`~sources.parsing.readers.pdfgrid.PageModel`), with the same results at a fraction of the
cost: the parts of ``TableFinder`` and ``Table.extract`` that took most of a PDF parse, each replaced
by the same algorithm written for Python (:func:`finder`'s cells, :func:`cell_text` for a cell's text), and
the test that lets the PDF reader leave out a second table pass that would change nothing
(:func:`outlines_drawn`).  The tests compare each with pdfplumber's own on real and generated PDFs.

Part of the PDF reader (:mod:`sources.parsing.readers.pdf`): the only other module allowed to
import pdfplumber.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

#: Characters pdfplumber's text extraction expands (``ﬁ`` → ``fi``): never joined as they are.
_LIGATURES = frozenset("ﬀﬃﬄﬁﬂﬅﬆ")


def outlines_drawn(
    extents: Sequence[tuple[float, float, float, float]], tables: Sequence[Any], merged: Sequence[dict[str, Any]]
) -> bool:
    """Whether every table's outline is already drawn: no ruling line touching it reaches beyond it
    (its extent is its box) and each of its four sides lies on one of the page's merged edges from end
    to end.  The second pass would then only add edges lying on edges already there, which
    pdfplumber's snapping and joining absorb: the same edges, the same cells."""
    for extent, table in zip(extents, tables, strict=True):
        x0, top, x1, bottom = table.bbox
        if tuple(extent) != tuple(table.bbox):
            return False
        for orientation, at, low, high in (
            ("h", top, x0, x1),
            ("h", bottom, x0, x1),
            ("v", x0, top, bottom),
            ("v", x1, top, bottom),
        ):
            if not any(_covers(edge, orientation, at, low, high) for edge in merged):
                return False
    return True


def _covers(edge: dict[str, Any], orientation: str, at: float, low: float, high: float) -> bool:
    if edge["orientation"] != orientation:
        return False
    if orientation == "h":
        return bool(edge["top"] == at and edge["x0"] <= low and edge["x1"] >= high)
    return bool(edge["x0"] == at and edge["top"] <= low and edge["bottom"] >= high)


def finder(page: Any, settings: dict[str, Any]) -> Any:
    """pdfplumber's ``TableFinder`` on a pdfplumber page or a :class:`PageModel`: its edges,
    intersections, cells and tables as its constructor makes them, with the cells found by
    :func:`intersections_to_cells` (the same cells; pdfplumber's own took a third of a PDF parse)."""
    from pdfplumber.table import Table, TableFinder, TableSettings, cells_to_tables, edges_to_intersections

    made = TableFinder.__new__(TableFinder)
    made.page = page
    made.settings = TableSettings.resolve(settings)
    made.edges = made.get_edges()
    made.intersections = edges_to_intersections(
        made.edges, made.settings.intersection_x_tolerance, made.settings.intersection_y_tolerance
    )
    made.cells = intersections_to_cells(made.intersections)
    made.tables = [Table(page, group) for group in cells_to_tables(made.cells)]
    return made


def intersections_to_cells(
    intersections: dict[tuple[float, float], dict[str, list[dict[str, Any]]]],
) -> list[tuple[float, float, float, float]]:
    """pdfplumber's ``intersections_to_cells``, the same cells in the same order: for each
    intersection (in sorted order) the smallest cell it is the top-left corner of — the first point
    below it joined to it by a vertical edge, with the first point right of it joined by a horizontal
    edge, whose bottom-right corner is an intersection joined to both.  Two points are joined when
    they share an edge (compared by box, as there); the edge sets are built once per point and the
    points below / right of each are read from per-column / per-row lists instead of rescanning
    every later point."""
    points = sorted(intersections)
    box = itemgetter("x0", "top", "x1", "bottom")
    vertical = {p: set(map(box, d["v"])) for p, d in intersections.items()}
    horizontal = {p: set(map(box, d["h"])) for p, d in intersections.items()}
    columns: dict[float, list[tuple[float, float]]] = {}
    rows: dict[float, list[tuple[float, float]]] = {}
    position = {}
    for point in points:  # sorted by x, then y: each column top to bottom, each row left to right
        column, row = columns.setdefault(point[0], []), rows.setdefault(point[1], [])
        position[point] = (len(column), len(row))
        column.append(point)
        row.append(point)

    def joined(p: tuple[float, float], q: tuple[float, float]) -> bool:
        if p[0] == q[0] and not vertical[p].isdisjoint(vertical[q]):
            return True
        return p[1] == q[1] and not horizontal[p].isdisjoint(horizontal[q])

    cells = []
    for point in points[:-1]:
        in_column, in_row = position[point]
        right = rows[point[1]][in_row + 1 :]
        found = None
        for below in columns[point[0]][in_column + 1 :]:
            if not joined(point, below):
                continue
            for beside in right:
                if not joined(point, beside):
                    continue
                corner = (beside[0], below[1])
                if corner in intersections and joined(corner, beside) and joined(corner, below):
                    found = (point[0], point[1], corner[0], corner[1])
                    break
            if found:
                break
        if found:
            cells.append(found)
    return cells


def find_tables(page: Any, settings: dict[str, Any]) -> list[Any]:
    """pdfplumber's ``Page.find_tables`` on a pdfplumber page or a :class:`PageModel`."""
    return list(finder(page, settings).tables)


def extract_cells(rows: Sequence[Any], chars: Sequence[dict[str, Any]]) -> list[list[str | None]]:
    """pdfplumber's ``Table.extract()`` (default settings) of a table's ``rows`` over ``chars``: the
    same text for every cell, ``None`` for a position covered by a merged cell.

    A character belongs to the row and cell holding its centre, as there; a cell's text is
    :func:`cell_text` of its characters, or pdfplumber's ``extract_text`` where that declines.
    """
    from pdfplumber.utils import extract_text

    centred = [((c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2, c) for c in chars]
    out: list[list[str | None]] = []
    for row in rows:
        rx0, rtop, rx1, rbottom = row.bbox
        row_chars = [t for t in centred if rx0 <= t[0] < rx1 and rtop <= t[1] < rbottom]
        texts: list[str | None] = []
        for cell in row.cells:
            if cell is None:
                texts.append(None)
                continue
            x0, top, x1, bottom = cell
            found = [c for h, v, c in row_chars if x0 <= h < x1 and top <= v < bottom]
            text = cell_text(found) if found else ""
            texts.append(str(extract_text(found)) if text is None else text)
        out.append(texts)
    return out


def cell_text(chars: Sequence[dict[str, Any]]) -> str | None:
    """pdfplumber's ``extract_text(chars)`` (default settings, 3 pt tolerances) for upright characters
    without a ligature or an empty text; ``None`` for any other characters (ask pdfplumber then).

    As there: the characters are grouped into lines (tops chained within 3 pt, lines top to bottom),
    each line left to right is cut into words at a blank and where a character starts left of the
    one before, more than 3 pt after its end, or 3 pt above or below it; the words are grouped into
    lines again by their tops; words are joined by a space, lines by a line break.
    """
    for c in chars:
        text = c["text"]
        if not c["upright"] or not text or text in _LIGATURES:
            return None
    words: list[dict[str, Any]] = []
    for line in _lines(chars):
        word: list[dict[str, Any]] = []
        for c in sorted(line, key=_X0):
            if c["text"].isspace():
                _close(word, words)
                word = []
            elif word and (
                c["x0"] < word[-1]["x0"] or c["x0"] > word[-1]["x1"] + 3 or abs(c["top"] - word[-1]["top"]) > 3
            ):
                _close(word, words)
                word = [c]
            else:
                word.append(c)
        _close(word, words)
    return "\n".join(" ".join(w["text"] for w in line) for line in _lines(words))


_X0 = itemgetter("x0")


def _close(word: list[dict[str, Any]], words: list[dict[str, Any]]) -> None:
    if word:
        words.append({"top": min(c["top"] for c in word), "text": "".join(c["text"] for c in word)})


def _lines(objects: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """pdfplumber's ``cluster_objects(objects, "top", 3)``: the distinct tops sorted and chained into
    clusters (a top more than 3 pt below the previous one starts the next), the objects of each
    cluster in their own order, the clusters top to bottom."""
    cluster: dict[float, int] = {}
    last: float | None = None
    index = -1
    for top in sorted({o["top"] for o in objects}):
        if last is None or top > last + 3:
            index += 1
        cluster[top] = index
        last = top
    groups: dict[int, list[dict[str, Any]]] = {}
    for o in objects:
        groups.setdefault(cluster[o["top"]], []).append(o)
    return [groups[i] for i in sorted(groups)]
