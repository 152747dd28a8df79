"""From a :class:`~sources.parsing.document.Document` to the parse result: the canonical cells of a
statutory template, with the report's own facts and issues.

This is the one place where printed rows become addresses (``t3.new_received.natural_person``).
The chain is small pure steps, one module each:

1. :mod:`sources.parsing.rows`     — split a row into label and value cells, align the values to the
                                     columns (exactly as many, or none), name the template row a label means;
2. :mod:`sources.parsing.walk`     — follow the tables in reading order (表二 captions and headers, 表三,
                                     表四) and store each matched row's values by address;
3. :mod:`sources.parsing.detect`   — gov2021 / gov2019 / not a statutory report, from the labels found;
4. :mod:`sources.parsing.cells`    — one entry per template cell, ``MISSING`` with a reason where nothing
                                     was read; OCR readings checked against the statutory identities;
5. :mod:`sources.parsing.metadata` — title (agency, year), publication date, section headings.

Principle: a value that cannot be aligned unambiguously is ``null`` with a reason, never guessed.
"""

from __future__ import annotations

from typing import Any

from sources.parsing.cells import build_cells, ocr_issues, verify_ocr
from sources.parsing.detect import detect_template
from sources.parsing.document import Document, Issue
from sources.parsing.metadata import find_published_on, find_sections, find_title
from sources.parsing.walk import Walk, walk_rows
from sources.rules import HYBRID_ROW, narrative_facts
from sources.template import TABLE_NAMES, Template, load_template

PARSER_VERSION = "0.1.1"


def _completeness_issues(template: Template, walk: Walk, sections: list[str]) -> list[Issue]:
    issues: list[Issue] = []
    for kind, name in TABLE_NAMES.items():
        title = name[1:]
        if kind not in walk.tables_seen:
            issues.append(Issue("missing_table", "error", f"table {title} not found in the document", kind))
    missing = [s.label for s in template.sections if s.key not in sections]
    if missing:
        issues.append(Issue("missing_section", "warning", "section heading(s) not found: " + "、".join(missing)))
    if walk.hybrid_other:
        issues.append(
            Issue(
                "hybrid_other_handling",
                "warning",
                "2021 template with the old single row （六）其他处理 (2019 layout); its row was kept as printed",
                f"t3.{HYBRID_ROW}",
            )
        )
    return issues


def empty_result(**fields: Any) -> dict[str, Any]:
    """A parse result with nothing read (every key of a parse result but ``source``), ``fields`` set."""
    result: dict[str, Any] = {
        "agency": None,
        "year": None,
        "template": None,
        "published_on": None,
        "sections": [],
        "cells": [],
        "issues": [],
        "error": None,
    }
    result.update(fields)
    return result


def parse_document(doc: Document) -> dict[str, Any]:
    """The parse result of one Document (everything of the parse result except ``source``)."""
    agency, year = find_title(doc)
    template_id, issues = detect_template(doc)
    issues = list(doc.issues) + issues
    result = empty_result(agency=agency, year=year, published_on=find_published_on(doc))
    if template_id is None:
        result["issues"] = [i.to_json() for i in issues]
        return result
    template = load_template(template_id)
    walk = walk_rows(doc, template)
    unreadable = next((i.message for i in issues if i.code == "table_unreadable"), None)
    cells = build_cells(template, walk, unreadable)
    t3 = [c for c in cells if c["address"].startswith("t3.")]
    if unreadable is None and not any(c["semantic"] in ("NUMBER", "ZERO") for c in t3):
        refused = sorted(reason for key, reason in walk.bad_rows.items() if key.startswith("t3"))
        if not refused and not any(c["semantic"] == "TEXT" for c in t3):
            # 表三's rows are there and print nothing: a blank template, not a report.
            issues.append(Issue("blank_template", "info", "the statutory tables carry no figures (blank template)"))
            result["issues"] = [i.to_json() for i in issues]
            return result
        # 表三's rows are there but their figures could not be placed: a report whose tables are
        # unreadable (kept, its cells missing with the reasons), not a blank template.
        message = (
            f"表三印有{len(refused)}行但其数字均无法读取（例如：{refused[0]}）。单元格均为空并注明原因，请人工核对原件"
        )
        issues.append(Issue("table_unreadable", "error", message, "t3"))
    sections = find_sections(doc, template)
    issues += walk.issues + ocr_issues(cells) + _completeness_issues(template, walk, sections)
    result.update(template=template_id, sections=sections, cells=cells)
    # Figures the narrative states (收到申请N件 …), checked against the tables at validation time.
    result["narrative"] = narrative_facts(doc.text)
    issues += verify_ocr(result)
    keep_crops(result)
    result["issues"] = [i.to_json() for i in issues]
    return result


def keep_crops(result: dict[str, Any]) -> None:
    """Drop the cell images of OCR cells read cleanly: a crop stays only where a person must look
    (``unverified``, ``low_confidence``, ``unreadable``), so the result stays small."""
    for cell in result.get("cells") or []:
        ocr = cell.get("ocr")
        if ocr and ocr.get("status") == "ok":
            ocr.pop("crop", None)
