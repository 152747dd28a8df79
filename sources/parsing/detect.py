"""Which statutory template a document is in — ``gov2021``, ``gov2019`` or none — from the labels it prints.

The labels of the table rows decide: a statutory report names at least :data:`MIN_T3_ROWS` rows of
表三, and the signatures of templates.yaml (``version_detection``) tell the 2021 format from the
2019 one.  When the rows name too few (tables that could not be read as tables: a table exported
as spaced text, drawn so that its cells cannot be recovered), the labels printed in the text
decide instead, and the document is a report whose tables are unreadable (``table_unreadable``),
never "not a statutory report".  Pure functions over a :class:`~sources.parsing.document.Document`.
"""

from __future__ import annotations

import functools
import re

from sources.parsing.document import Document, Issue
from sources.parsing.labels import normalize_label
from sources.parsing.numbers import looks_like_value
from sources.template import load_template, raw_spec


def _is_label(text: str) -> bool:
    return bool(text.strip()) and not looks_like_value(text)


def _row_label_keys(doc: Document) -> set[str]:
    keys: set[str] = set()
    for row in doc.rows:
        for cell in row.cells:
            if _is_label(cell):
                keys.add(normalize_label(cell))
    return keys


_TEXT_CELL = re.compile(r"\t|\||\s{2,}")


def _text_label_keys(doc: Document) -> set[str]:
    """Label keys printed in the running text: each line cut at tabs, pipes and runs of spaces, the
    figures at a piece's end dropped (``属于国家秘密 0 0 0`` → ``属于国家秘密``).  A table exported as
    spaced text, or drawn so that its cells cannot be recovered, still prints its labels this way."""
    keys: set[str] = set()
    for line in doc.text.split("\n"):
        for piece in _TEXT_CELL.split(line):
            words = piece.split()
            while words and looks_like_value(words[-1]):
                words.pop()
            key = normalize_label(" ".join(words))
            if len(key) >= 2:
                keys.add(key)
    return keys


@functools.cache
def _t3_label_keys() -> tuple[tuple[str, frozenset[str]], ...]:
    """(row key, match keys) of the 表三 data rows of both templates."""
    rows = load_template("gov2021").table("t3").data_rows + load_template("gov2019").table("t3").data_rows
    return tuple((r.key, frozenset(r.match_keys)) for r in rows)


def _t3_hits(labels: set[str], *, endings: bool = False) -> set[str]:
    """表三 data rows named by ``labels`` (exactly; with ``endings`` also as the end of a longer text,
    ``不予公开1属于国家秘密``, for labels of four characters or more)."""
    hits = {key for key, keys in _t3_label_keys() if labels & keys}
    if endings:
        long_keys = [(key, [k for k in keys if len(k) >= 4]) for key, keys in _t3_label_keys() if key not in hits]
        hits |= {key for key, keys in long_keys if any(label.endswith(k) for label in labels for k in keys)}
    return hits


def _signature_scores(labels: set[str]) -> dict[str, int]:
    blob = "|".join(sorted(labels))
    scores: dict[str, int] = {"gov2021": 0, "gov2019": 0, "pre2019": 0, "statutory": 0}
    for sig in raw_spec()["version_detection"]["signatures"]:
        words = [normalize_label(w) for w in sig.get("match_any", [])]
        if words and any(w and w in blob for w in words):
            target = "statutory" if "|" in sig["version"] else sig["version"]
            scores[target] = scores.get(target, 0) + int(sig["weight"])
    return scores


def _pick_template(scores: dict[str, int], t3_hits: set[str]) -> str:
    if scores["gov2021"] > scores["gov2019"]:
        return "gov2021"
    if scores["gov2019"] > scores["gov2021"]:
        return "gov2019"
    split_other = {"other_no_correction_overdue", "other_fee_unpaid_overdue"} & t3_hits
    return "gov2021" if split_other else "gov2019"


MIN_T3_ROWS = 8  # 表三 rows a statutory report names; a notice or a pre-2019 report names far fewer


def detect_template(doc: Document) -> tuple[str | None, list[Issue]]:
    """``gov2021``, ``gov2019`` or None (not a statutory report), from the labels printed.

    The labels of the table rows decide.  A document whose rows name too few 表三 rows but whose
    text prints them (tables that could not be read as tables) is still a statutory report: its
    template is chosen from the labels of the text, with a ``table_unreadable`` error saying why; so is
    one whose pages or images left unread by OCR for time may hold 表三 while its other tables name
    one template.
    """
    labels = _row_label_keys(doc)
    scores = _signature_scores(labels)
    t3_hits = _t3_hits(labels)
    if len(t3_hits) >= MIN_T3_ROWS:
        return _pick_template(scores, t3_hits), []
    text_labels = _text_label_keys(doc)
    text_hits = _t3_hits(text_labels, endings=True)
    if len(text_hits) >= MIN_T3_ROWS:
        template = _pick_template(_signature_scores(text_labels), text_hits)
        return template, [Issue("table_unreadable", "error", _unreadable_message(doc, len(text_hits), len(t3_hits)))]
    if doc.ocr_late:
        # pages or images left unread for time may hold 表三: a document whose other tables print the
        # labels of one template is a report whose 表三 could not be read (its other tables are kept)
        both = _signature_scores(labels | text_labels)
        if both["gov2021"] != both["gov2019"]:
            template = "gov2021" if both["gov2021"] > both["gov2019"] else "gov2019"
            return template, [Issue("table_unreadable", "error", _late_message(doc))]
    why = "pre-2019 report layout" if scores["pre2019"] else "no statutory 表三 labels found"
    return None, [Issue("not_statutory_report", "info", f"not a statutory annual report: {why}")]


def _late_message(doc: Document) -> str:
    """Why 表三 of a report gave no cells when images of it were left unread for time (Chinese, one line)."""
    return (
        f"文中印有法定统计表的标签，但有 {doc.ocr_late} 页（幅）图像在解析时限内未能 OCR，没有读到表三。"
        "未读到的单元格为空并注明原因：请调高 [xxgk.limits] 的 parse_seconds 后重新解析，或人工核对原件"
    )


def _unreadable_message(doc: Document, printed: int, in_rows: int) -> str:
    """Why the tables of a document that prints the statutory labels gave no cells (Chinese, one line)."""
    if not doc.rows:
        why = "没有读出任何表格行：标签和数字不是以表格给出（例如以空格分隔的文本），或表格是图片、矢量图形"
    else:
        why = f"表格行中只认出{in_rows}个表三行标签"
    if any(i.code == "ocr_needed" for i in doc.issues):
        why += "；有页面需要 OCR"
    return f"文中印有法定统计表的标签（表三{printed}行），但表格无法读取：{why}。单元格均为空并注明原因，请人工核对原件"
