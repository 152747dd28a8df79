"""Plain-text reports (text exported from HTML, PDF or Word): rows recovered from three layouts.

Exports of the same table come in three shapes, all seen in real reports:

* **tab rows** — one table row per line, cells separated by tabs (``label\\t\\t3\\t0…``);
* **tab cells** — one cell per line, each line starting with a tab, rows separated by blank lines;
  a cell whose text wrapped continues on the next line without a tab;
* **cell lines** — one cell per line, no tabs, blank lines between cells.

Text exported by PDF → Markdown converters holds **pipe tables** (``| label | 3 | 0 |`` lines with a
``|---|`` separator): those lines are read by :mod:`sources.parsing.readers.pipes` (short, stacked
and run-on rows refused or split there), the other lines as above.

Each becomes :class:`~sources.parsing.document.Row` s of physical cells; in the *cell lines* layout a row is
a run of label lines followed by a run of value lines, since nothing else marks row ends.
"""

from __future__ import annotations

from sources.parsing.document import Document, Issue, Row, UnreadableDocument
from sources.parsing.labels import clean_text
from sources.parsing.numbers import looks_like_value
from sources.parsing.readers.pipes import has_pipe_table, is_pipe_line, pipe_rows, pipe_text


def decode_text(data: bytes) -> tuple[str, list[Issue]]:
    """Bytes of a text file → str (BOM, UTF-8, then GB18030), with newlines normalised, and an
    ``encoding_guessed`` issue when neither decodes and undecodable bytes had to be replaced."""
    if not data:
        raise UnreadableDocument("empty_file", "the file is empty (0 bytes): re-download or re-export it")
    issues: list[Issue] = []
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", errors="replace")
        issues.append(
            Issue(
                "encoding_guessed",
                "warning",
                "bytes are neither UTF-8 nor GB18030; undecodable bytes were replaced (U+FFFD)",
            )
        )
    return text.replace("\r\n", "\n").replace("\r", "\n"), issues


def _blocks(lines: list[str]) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines (with their 1-based numbers), split at blank lines."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for no, line in enumerate(lines, start=1):
        if line.strip(" \u3000\t") == "" and "\t" not in line.strip(" \u3000"):
            if current:
                blocks.append(current)
            current = []
        else:
            current.append((no, line))
    if current:
        blocks.append(current)
    return blocks


def _is_tab_cell_block(block: list[tuple[int, str]]) -> bool:
    """A *tab cells* block: every line is either one tab-led cell or a continuation without tabs."""
    has_lead = any(line.startswith("\t") for _, line in block)
    return has_lead and all((line.startswith("\t") and line.count("\t") == 1) or "\t" not in line for _, line in block)


def _cells(text: str) -> tuple[str, ...]:
    return tuple(clean_text(c).strip() for c in text.split("\t"))


def _rows_from_block(block: list[tuple[int, str]]) -> list[Row]:
    if _is_tab_cell_block(block):
        joined = "\n".join(line for _, line in block)
        cells = _cells(joined)
        if cells and cells[0] == "" and joined.startswith("\t"):
            cells = cells[1:]
        return [Row(cells, line=block[0][0])]
    return [Row(_cells(line), line=no) for no, line in block if "\t" in line]


def _cell_line_rows(lines: list[str]) -> list[Row]:
    """Rows of the *cell lines* layout: label lines then value lines make one row."""
    rows: list[Row] = []
    labels: list[str] = []
    values: list[str] = []
    start = 0
    for no, raw in enumerate(lines, start=1):
        text = clean_text(raw).strip()
        if not text:
            continue
        if looks_like_value(text):
            if labels or values:
                values.append(text)
            continue
        if values:
            rows.append(Row(tuple(labels + values), line=start))
            labels, values = [], []
        if not labels:
            start = no
        labels.append(text)
    if labels or values:
        rows.append(Row(tuple(labels + values), line=start))
    return rows


def read_text(data: bytes) -> Document:
    """A plain-text report → Document with its table rows (layout detected per block)."""
    text, issues = decode_text(data)
    lines = text.split("\n")
    if has_pipe_table(lines):
        # Pipe tables first; tab rows elsewhere in the same export still count, in line order.
        rest = ["" if is_pipe_line(line) else line for line in lines]
        tab_rows = (
            [row for block in _blocks(rest) for row in _rows_from_block(block)] if any("\t" in x for x in rest) else []
        )
        rows = sorted(pipe_rows(lines) + tab_rows, key=lambda r: r.line or 0)
        return Document(format="text", text=clean_text(pipe_text(lines)), rows=rows, issues=issues)
    if any("\t" in line for line in lines):
        rows = [row for block in _blocks(lines) for row in _rows_from_block(block)]
    else:
        rows = _cell_line_rows(lines)
    return Document(format="text", text=clean_text(text), rows=rows, issues=issues)
