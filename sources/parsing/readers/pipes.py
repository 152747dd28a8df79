"""Markdown pipe tables in text (what PDF → Markdown converters write) → table rows, never a guessed cell.

A converter writes each printed table row as ``| cell | cell | … |`` and, after the header, a
separator line ``|---|---|``.  Each line becomes a :class:`~sources.parsing.document.Row` of its
cells (``<br>`` inside a cell is a line break).  Three defects of such exports are handled here:

* **short rows** — fewer cells than the table is wide (the converter dropped cells: usually the
  empty position under a label spanning two columns, sometimes a value).  Which cells went missing
  is unknown, so the row carries ``short`` (how many) and the assembler uses its values only when
  they are provably all there; otherwise the row is refused with the reason.
* **stacked rows** — two or more printed rows in one line, every cell holding the texts of all of
  them (``0<br>0`` or ``0 0``).  The line is split into rows only when every cell splits into the
  same number of parts (a label cell before the values may also hold one part: a group label of
  the first row);
  otherwise it is refused (``Row.refused``), so that ``1259 36`` never becomes 125936.
* **run-on rows** — a line with more cells than the table is wide, a label following values: the
  next printed row was glued on.  It is split before each such label; each part is a short row.

Nothing here knows the template: ``sources.parsing.assemble`` decides what a short row's values
mean for the columns of the row it names.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from sources.parsing.document import Row
from sources.parsing.labels import clean_text
from sources.parsing.numbers import looks_like_value

_SEPARATOR_CELL = re.compile(r"^\s*:?-{2,}:?\s*$")
_BR = re.compile(r"<br\s*/?>", re.I)
_PIPE = re.compile(r"(?<!\\)\|")
_BOLD = re.compile(r"^(\*\*|__)(.*)\1$", re.S)
# Where a label cell holding several printed labels splits: before an enumeration (1. （二） 三、).
_LABEL_BREAK = re.compile(r"\s+(?=\d+[.、．]|[（(][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、)")


def is_pipe_line(line: str) -> bool:
    """A line written as a pipe-table row: it starts and ends with ``|`` and has two cells or more."""
    s = line.strip()
    return len(s) >= 3 and s.startswith("|") and s.endswith("|") and len(_PIPE.findall(s)) >= 3


def split_cells(line: str) -> list[str]:
    """The cells of one pipe line: outer pipes dropped, ``\\|`` unescaped, ``<br>`` → newline, bold marks off."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = []
    for part in _PIPE.split(s):
        text = clean_text(_BR.sub("\n", part).replace("\\|", "|")).strip()
        bold = _BOLD.match(text)
        cells.append((bold.group(2) if bold else text).strip())
    return cells


def _is_separator(cells: Sequence[str]) -> bool:
    return bool(cells) and all(_SEPARATOR_CELL.match(c) for c in cells)


def _is_label(text: str) -> bool:
    return bool(text.strip()) and not looks_like_value(text)


def _parts(text: str, label: bool) -> list[str]:
    """The printed texts stacked in one cell: lines (``<br>``), else whitespace-separated values, else
    (labels) enumerated items; one part when the cell holds one text, none when it is blank."""
    if not text.strip():
        return []
    if "\n" in text:
        return [p.strip() for p in text.split("\n") if p.strip()]
    if label:
        return [p.strip() for p in _LABEL_BREAK.split(text.strip()) if p.strip()]
    tokens = text.split()
    if len(tokens) > 1 and all(looks_like_value(t) for t in tokens):
        return tokens
    return [text.strip()]


def _stack_depth(cells: Sequence[str]) -> int:
    """How many printed rows a line holds, told by its value cells (1 when none holds several)."""
    return max((len(_parts(c, False)) for c in cells if c.strip() and not _is_label(c)), default=1)


def _unstack(cells: Sequence[str], line: int, short: int) -> list[Row]:
    """One line holding ``k`` stacked rows → ``k`` rows, or the refused row(s) when a cell does not split in ``k``."""
    k = _stack_depth(cells)
    if k == 1:
        return [Row(tuple(cells), line=line, short=short)]
    split: list[list[str]] = []
    bad: list[int] = []
    first_value = next((i for i, c in enumerate(cells) if c.strip() and not _is_label(c)), len(cells))
    for i, cell in enumerate(cells):
        label = _is_label(cell)
        parts = _parts(cell, label)
        if not parts:
            split.append([""] * k)
        elif len(parts) == k:
            split.append(parts)
        elif len(parts) == 1 and label and i < first_value:
            split.append(parts + [""] * (k - 1))  # a group label printed once, beside the first row
        else:
            split.append([])
            bad.append(i)
    if not bad:
        return [Row(tuple(col[j] for col in split), line=line, short=short) for j in range(k)]
    printed = "、".join(f"第{i + 1}格“{cells[i].replace(chr(10), ' ')}”" for i in bad[:3])
    reason = f"导出的表格行把{k}行印在一行里，但{printed}拆不成{k}份：无法确定各数字属于哪一行，均未采用"
    labels = [i for i, c in enumerate(cells[:first_value]) if _is_label(c)]
    last = labels[-1] if labels else -1
    names = _parts(cells[last], True) if last >= 0 else []
    if last >= 0 and last not in bad and len(names) == k:
        # The labels do split: each printed row is named, so each gets the refusal (not "row not found").
        return [Row((*cells[:last], name), line=line, refused=reason) for name in names]
    return [Row(tuple(cells[: last + 1]), line=line, refused=reason)]


def _run_on(cells: list[str], width: int) -> list[list[str]]:
    """A line wider than its table split before each label that follows a value (the next row glued on)."""
    if len(cells) <= width:
        return [cells]
    pieces: list[list[str]] = [[]]
    seen_value = False
    for cell in cells:
        if _is_label(cell) and seen_value:
            pieces.append([])
            seen_value = False
        elif cell.strip() and not _is_label(cell):
            seen_value = True
        pieces[-1].append(cell)
    return pieces


def _table_rows(block: list[tuple[int, list[str]]]) -> list[Row]:
    """The rows of one pipe table (its lines with their numbers and cells)."""
    separators = [len(cells) for _, cells in block if _is_separator(cells)]
    body = [(no, cells) for no, cells in block if not _is_separator(cells)]
    if not body:
        return []
    counts = Counter(len(cells) for _, cells in body)
    # The width: the separator's when there is one, else the most common row length (the longest on a tie).
    width = max(separators) if separators else max(counts, key=lambda n: (counts[n], n))
    rows: list[Row] = []
    for no, cells in body:
        pieces = _run_on(cells, width)
        for piece in pieces:
            rows.extend(_unstack(piece, no, max(0, width - len(piece))))
    return rows


def _logical_lines(lines: Sequence[str], first_line: int) -> list[tuple[int, str]]:
    """(line number, line), a pipe row broken over several lines joined again with ``<br>`` (an HTML
    page renders ``<br>`` inside a row as a line break): a line starting with ``|`` that is not a
    whole row takes the next lines (up to 40, not blank, not starting a row) until it ends with ``|``."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        line, end = lines[i], i
        if line.strip().startswith("|") and not is_pipe_line(line):
            joined = line.strip()
            for j in range(i + 1, min(i + 41, len(lines))):
                following = lines[j].strip()
                if not following or following.startswith("|"):
                    break
                joined += "<br>" + following
                if is_pipe_line(joined):
                    line, end = joined, j
                    break
        out.append((first_line + i, line))
        i = end + 1
    return out


def pipe_rows(lines: Sequence[str], first_line: int = 1) -> list[Row]:
    """Rows of every pipe table in ``lines`` (a table: two pipe lines or more in a row), in order;
    ``Row.line`` is the line number counted from ``first_line``."""
    rows: list[Row] = []
    block: list[tuple[int, list[str]]] = []

    def flush() -> None:
        if len(block) >= 2:
            rows.extend(_table_rows(block))
        block.clear()

    for no, line in _logical_lines(lines, first_line):
        if is_pipe_line(line):
            block.append((no, split_cells(line)))
        else:
            flush()
    flush()
    return rows


def has_pipe_table(lines: Sequence[str]) -> bool:
    """True when two consecutive lines are pipe-table rows (cheap test before reading them)."""
    previous = False
    for _, line in _logical_lines(lines, 1):
        current = is_pipe_line(line)
        if current and previous:
            return True
        previous = current
    return False


def pipe_text(lines: Sequence[str]) -> str:
    """The text with pipe-table lines written as the other readers write table rows (cells joined by
    tabs, line breaks inside a cell as spaces) and separator lines blank, so line numbers still hold."""
    out: list[str] = []
    for line in lines:
        if not is_pipe_line(line):
            out.append(line)
            continue
        cells = split_cells(line)
        out.append("" if _is_separator(cells) else "\t".join(c.replace("\n", " ") for c in cells))
    return "\n".join(out)
