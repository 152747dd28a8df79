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

from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from itertools import groupby
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
    intersections, cells and tables as its constructor makes them, with the edges merged by
    :func:`table_edges`, the intersections found by :func:`edges_to_intersections` and the cells by
    :func:`intersections_to_cells`, the tables by :func:`cells_to_tables` (the same each time;
    pdfplumber's own took most of a table page)."""
    from pdfplumber.table import Table, TableFinder, TableSettings

    made = TableFinder.__new__(TableFinder)
    made.page = page
    made.settings = TableSettings.resolve(settings)
    made.edges = table_edges(made)
    made.intersections = edges_to_intersections(
        made.edges, made.settings.intersection_x_tolerance, made.settings.intersection_y_tolerance
    )
    made.cells = intersections_to_cells(made.intersections)
    made.tables = [Table(page, group) for group in cells_to_tables(made.cells)]
    return made


def table_edges(made: Any) -> list[dict[str, Any]]:
    """``TableFinder.get_edges()`` for ruling lines (the ``lines`` strategy both ways, explicit lines
    given as objects): the page's edges and the explicit ones, snapped, joined and filtered as there —
    the same edges with the same values in the same order, each copied once and changed in place
    where pdfplumber copies it at every step.  Any other settings go to pdfplumber's own."""
    from pdfplumber.utils import obj_to_edges

    settings = made.settings
    explicit = [*(settings.explicit_vertical_lines or []), *(settings.explicit_horizontal_lines or [])]
    if (settings.vertical_strategy, settings.horizontal_strategy) != ("lines", "lines") or not all(
        isinstance(line, dict) for line in explicit
    ):
        return list(made.get_edges())
    least = settings.edge_min_length_prefilter
    sides: dict[str, list[dict[str, Any]]] = {}
    for orientation, dim, lines in (
        ("v", "height", settings.explicit_vertical_lines),
        ("h", "width", settings.explicit_horizontal_lines),
    ):
        base = [e for e in made.page.edges if e["orientation"] == orientation and e[dim] >= least]
        drawn = [e for line in lines or [] for e in obj_to_edges(line) if e["orientation"] == orientation]
        sides[orientation] = [dict(e) for e in base + drawn]
    if settings.snap_x_tolerance > 0 or settings.snap_y_tolerance > 0:
        _snap(sides["v"], "x0", settings.snap_x_tolerance)
        _snap(sides["h"], "top", settings.snap_y_tolerance)
    edges = sorted(sides["v"] + sides["h"], key=_group)
    joined: list[dict[str, Any]] = []
    for (orientation, _at), group in groupby(edges, key=_group):
        _join(
            list(group),
            orientation,
            settings.join_x_tolerance if orientation == "h" else settings.join_y_tolerance,
            joined,
        )
    least = settings.edge_min_length
    return [e for e in joined if e["height" if e["orientation"] == "v" else "width"] >= least]


def _group(edge: dict[str, Any]) -> tuple[str, float]:
    return ("h", edge["top"]) if edge["orientation"] == "h" else ("v", edge["x0"])


def _snap(edges: list[dict[str, Any]], attr: str, tolerance: float) -> None:
    """pdfplumber's ``snap_objects(edges, attr, tolerance)`` in place (its order of the edges, by
    cluster, is restored by the sort that follows it in :func:`table_edges`, which is stable only on
    equal keys: so the edges are reordered here as there)."""
    values = sorted({e[attr] for e in edges})
    cluster: dict[float, int] = {}
    index, last = 0, None
    for value in values:
        if last is not None and not (tolerance and value <= last + tolerance):
            index += 1
        cluster[value] = index
        last = value
    edges.sort(key=lambda e: cluster[e[attr]])
    for _index, group in groupby(edges, key=lambda e: cluster[e[attr]]):
        members = list(group)
        average = sum(e[attr] for e in members) / len(members)
        for e in members:
            shift = average - e[attr]
            if attr == "x0":
                e["x0"], e["x1"] = e["x0"] + shift, e["x1"] + shift
            else:
                e["top"], e["bottom"] = e["top"] + shift, e["bottom"] + shift
                if "doctop" in e:
                    e["doctop"] = e["doctop"] + shift
                if "y0" in e:
                    e["y0"], e["y1"] = e["y0"] - shift, e["y1"] - shift


def _join(group: list[dict[str, Any]], orientation: str, tolerance: float, out: list[dict[str, Any]]) -> None:
    """pdfplumber's ``join_edge_group`` appending to ``out``, each joined edge grown in place."""
    low, high = ("x0", "x1") if orientation == "h" else ("top", "bottom")
    group.sort(key=itemgetter(low))
    last = group[0]
    out.append(last)
    for e in group[1:]:
        if e[low] <= last[high] + tolerance:
            if e[high] > last[high]:
                value = e[high]
                if orientation == "h":
                    last["x1"], last["width"] = value, value - last["x0"]
                else:
                    diff = value - last["bottom"]
                    last["bottom"], last["height"] = value, last["height"] + diff
                    if "y0" in last:
                        last["y0"] = last["y0"] - diff
        else:
            last = e
            out.append(last)


def edges_to_intersections(
    edges: Sequence[dict[str, Any]], x_tolerance: float = 1, y_tolerance: float = 1
) -> dict[tuple[float, float], dict[str, list[dict[str, Any]]]]:
    """pdfplumber's ``edges_to_intersections``: the same points with the same edges in the same
    order, the horizontal edges sorted once and those within reach of each vertical one found by
    bisection (it sorts and tests them all for each vertical edge)."""
    vertical = sorted((e for e in edges if e["orientation"] == "v"), key=itemgetter("x0", "top"))
    horizontal = sorted((e for e in edges if e["orientation"] == "h"), key=itemgetter("top", "x0"))
    tops = [h["top"] for h in horizontal]
    if any(t != t for t in tops):  # NaN: bisection needs an order
        from pdfplumber.table import edges_to_intersections as theirs

        return dict(theirs(list(edges), x_tolerance, y_tolerance))
    intersections: dict[tuple[float, float], dict[str, list[dict[str, Any]]]] = {}
    for v in vertical:
        # v["top"] <= h["top"] + y_tolerance and v["bottom"] >= h["top"] - y_tolerance, as there
        first = bisect_left(tops, v["top"] - y_tolerance)
        while first > 0 and v["top"] <= tops[first - 1] + y_tolerance:
            first -= 1
        for h in horizontal[first:]:
            if not v["bottom"] >= h["top"] - y_tolerance:
                if h["top"] - y_tolerance > v["bottom"]:
                    break
                continue
            if v["top"] <= h["top"] + y_tolerance and h["x0"] - x_tolerance <= v["x0"] <= h["x1"] + x_tolerance:
                vertex = (v["x0"], h["top"])
                if vertex not in intersections:
                    intersections[vertex] = {"v": [], "h": []}
                intersections[vertex]["v"].append(v)
                intersections[vertex]["h"].append(h)
    return intersections


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
    boxes: dict[int, tuple[float, float, float, float]] = {}  # an edge meets several points: boxed once
    box = itemgetter("x0", "top", "x1", "bottom")

    def boxed(edges: list[dict[str, Any]]) -> set[tuple[float, float, float, float]]:
        out = set()
        for edge in edges:
            key = id(edge)
            found = boxes.get(key)
            if found is None:
                found = boxes[key] = box(edge)
            out.add(found)
        return out

    vertical = {p: boxed(d["v"]) for p, d in intersections.items()}
    horizontal = {p: boxed(d["h"]) for p, d in intersections.items()}
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


def cells_to_tables(
    cells: Sequence[tuple[float, float, float, float]],
) -> list[list[tuple[float, float, float, float]]]:
    """pdfplumber's ``cells_to_tables``: the same tables of the same cells in the same order (cells
    sharing a corner with a table's cells join it, pass after pass over the cells left, in their
    order).  There a joining cell is removed from the list of those left with ``list.remove`` (the
    first equal cell goes: an earlier copy of it when it is there twice); here that cell is marked
    gone and the list rebuilt once a pass."""
    remaining = list(cells)
    corners: set[tuple[float, float]] = set()
    current: list[tuple[float, float, float, float]] = []
    tables = []
    while remaining:
        before = len(current)
        gone = [False] * len(remaining)
        copies: dict[tuple[float, float, float, float], deque[int]] = {}
        for i, cell in enumerate(remaining):
            copies.setdefault(cell, deque()).append(i)
        for cell in remaining:
            x0, top, x1, bottom = cell
            cell_corners = ((x0, top), (x0, bottom), (x1, top), (x1, bottom))
            if not current or any(c in corners for c in cell_corners):
                corners.update(cell_corners)
                current.append(cell)
                gone[copies[cell].popleft()] = True
        remaining = [cell for cell, out in zip(remaining, gone, strict=True) if not out]
        if len(current) == before:
            tables.append(list(current))
            corners.clear()
            current.clear()
    if current:
        tables.append(list(current))
    ordered = sorted(tables, key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in ordered if len(t) > 1]


def find_tables(page: Any, settings: dict[str, Any]) -> list[Any]:
    """pdfplumber's ``Page.find_tables`` on a pdfplumber page or a :class:`PageModel`."""
    return list(finder(page, settings).tables)


def extract_cells(rows: Sequence[Any], chars: Sequence[dict[str, Any]], index: Any = None) -> list[list[str | None]]:
    """pdfplumber's ``Table.extract()`` (default settings) of a table's ``rows`` over ``chars``: the
    same text for every cell, ``None`` for a position covered by a merged cell.

    A character belongs to the row and cell holding its centre, as there; a cell's text is
    :func:`cell_text` of its characters, or pdfplumber's ``extract_text`` where that declines.  The
    characters of a row are found by bisection over their centres' heights (``index``: the
    :class:`~sources.parsing.readers.pdfgrid.CharIndex` of ``chars``, made here when not given) instead
    of testing every character against every row, and kept in the order of ``chars``, as there.
    """
    from pdfplumber.utils import extract_text

    from sources.parsing.readers.pdfgrid import CharIndex

    index = index if index is not None else CharIndex(list(chars))
    heights, middle_at, middles, acrosses = index.heights, index.middle_at, index.middles, index.acrosses
    out: list[list[str | None]] = []
    for row in rows:
        rx0, rtop, rx1, rbottom = row.bbox
        band = sorted(middle_at[bisect_left(heights, rtop) : bisect_left(heights, rbottom)])  # in page order
        row_chars = [(acrosses[i], middles[i], chars[i]) for i in band if rx0 <= acrosses[i] < rx1]
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
