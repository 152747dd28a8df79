"""Synthetic parse results (the ``xxgk parse --json`` objects of ``sources/README.md``) of consistent statutory reports.

For the benchmark and for warehouse tests that need many reports without parsing documents:
:func:`synthetic_cells` gives an arithmetically consistent value for every cell of a template
variant (all statutory rules hold), :func:`synthetic_report` wraps cells into the JSON object the
parser returns (every cell with value, raw text and semantic; a deterministic sha256 of the
content stands in for the document hash).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from hashlib import sha256
from typing import Any

from sources import rules
from sources.parsing.assemble import empty_result
from sources.parsing.numbers import NA_FORMS
from sources.template import TABLE_NAMES, load_template

_GOV2021 = load_template("gov2021")
# 表三 applicant columns and 表四 measures without 总计, 表四 blocks and the six sections, from the template model.
APPLICANTS = tuple(c.key for c in _GOV2021.table("t3").columns if c.key != "total")
T4_PARTS = tuple(c.key for c in _GOV2021.table("t4").columns if c.key != "total")
T4_BLOCKS = tuple(r.key for r in _GOV2021.table("t4").data_rows)
SECTIONS = tuple(s.key for s in _GOV2021.sections)


def _leaf_rows(variant: str) -> list[str]:
    """The 表三 rows that add up to （七）总计 in ``variant``: the right side of its T3_RESULT_SUM rule."""
    rule_id = f"T3_RESULT_SUM_{rules.EDITIONS[rules.template_of_variant(variant)]}"
    inst = next(i for i in rules.rule_instances(variant) if i.key == (rule_id, APPLICANTS[0]))
    return [t.address.split(".")[1] for t in inst.rhs if t.address]


def synthetic_cells(
    variant: str = "gov2021", seed: int = 0, *, carried_over: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """A consistent value for every cell of ``variant`` (counts as int, amounts as float).

    ``carried_over`` fixes 二、上年结转 per applicant column (e.g. last year's 结转下年度).
    """
    rng = random.Random(f"{variant}:{seed}")
    cells: dict[str, Any] = {}
    leaves = _leaf_rows(variant)
    for col in APPLICANTS:
        scale = 12 if col == "natural_person" else 3
        new = rng.randint(0, scale)
        carried = (carried_over or {}).get(col, rng.randint(0, 1))
        carry_next = rng.randint(0, min(2, new + carried))
        handled = new + carried - carry_next
        for row in leaves:
            cells[f"t3.{row}.{col}"] = 0
        for _ in range(handled):
            row = leaves[min(int(rng.expovariate(0.35)), len(leaves) - 1)]
            cells[f"t3.{row}.{col}"] += 1
        cells[f"t3.new_received.{col}"] = new
        cells[f"t3.carried_over.{col}"] = carried
        cells[f"t3.result_total.{col}"] = handled
        cells[f"t3.carry_to_next.{col}"] = carry_next
    rows = {a.split(".")[1] for a in cells}
    for row in rows:
        cells[f"t3.{row}.total"] = sum(cells[f"t3.{row}.{c}"] for c in APPLICANTS)
    for block in T4_BLOCKS:
        parts = [rng.randint(0, 3) if i < 2 else rng.randint(0, 1) for i in range(4)]
        for m, v in zip(T4_PARTS, parts, strict=True):
            cells[f"t4.{block}.{m}"] = v
        cells[f"t4.{block}.total"] = sum(parts)
    for c in rules.cell_specs(variant):
        if c.table != "t2":
            continue
        if c.value_type == "signed_count":
            cells[c.address] = rng.randint(-3, 3)
        elif c.value_type.startswith("amount"):
            cells[c.address] = float(Decimal(rng.randint(0, 9_999_999)) / Decimal(1000))
        else:
            cells[c.address] = rng.randint(0, 40)
    if rules.template_of_variant(variant) == "gov2021":  # the hybrid prints the same 表二
        for row in ("rules", "normative_documents"):
            issued = cells[f"t2_art20_1.{row}.issued"]
            cells[f"t2_art20_1.{row}.in_force"] = max(cells[f"t2_art20_1.{row}.in_force"], issued)
    if variant == "gov2019":
        for row in ("rules", "normative_documents"):
            a, b = f"t2_art20_1.{row}.newly_published", f"t2_art20_1.{row}.total_published"
            cells[b] = max(cells[a], cells[b])
        for c in rules.cell_specs(variant):
            if c.col_key == "change":
                prev = c.address.replace(".change", ".prev_year_items")
                cells[c.address] = max(cells[c.address], -cells[prev])
    return {c.address: cells[c.address] for c in rules.cell_specs(variant)}


def _semantic(value: Any) -> tuple[str, str | None]:
    if value is None:
        return "EMPTY", ""
    if isinstance(value, str):
        return ("NA", value) if value in NA_FORMS else ("TEXT", value)
    return ("ZERO" if value == 0 else "NUMBER"), rules.fmt_number(float(value))


def synthetic_report(
    agency: str,
    year: int,
    cells: Mapping[str, Any],
    *,
    template: str | None = None,
    published_on: str | None = None,
    sections: Iterable[str] = SECTIONS,
    missing: Iterable[str] = (),
    missing_tables: Iterable[str] = (),
    narrative: Mapping[str, int] | None = None,
    path: str | None = None,
    revision: int = 0,
) -> dict[str, Any]:
    """The parse result (``xxgk parse --json`` object) of a report with these cell values.

    Values: int/float → NUMBER/ZERO; None → EMPTY (blank cell); "/" and the other placeholders of
    :data:`sources.parsing.numbers.NA_FORMS` → NA; other strings → TEXT.
    ``missing`` addresses and every cell of ``missing_tables`` (t2/t3/t4) become MISSING with a
    reason.  ``revision`` changes the stand-in document hash (a revised document).
    """
    if template is None:
        template = "gov2019" if any(a.startswith("t2_art20_9") for a in cells) else "gov2021"
    gone = set(missing)
    tables = tuple(missing_tables)
    out_cells = []
    for address, value in cells.items():
        kind = address.split(".")[0].split("_")[0]
        if address in gone or kind in tables:
            title = TABLE_NAMES.get(kind, kind)
            out_cells.append(
                {
                    "address": address,
                    "value": None,
                    "raw": None,
                    "semantic": "MISSING",
                    "reason": f"table {title[-1]} not found in the document" if kind in tables else "cell not read",
                }
            )
            continue
        semantic, raw = _semantic(value)
        out_cells.append(
            {
                "address": address,
                "value": value if semantic in ("NUMBER", "ZERO") else None,
                "raw": raw,
                "semantic": semantic,
                "label": address,
            }
        )
    doc: dict[str, Any] = {
        "agency": agency,
        "year": year,
        "template": template,
        "published_on": published_on or f"{year + 1}-01-20",
        "sections": list(sections),
        "cells": out_cells,
        "issues": [
            {"code": "missing_table", "severity": "error", "message": f"table {t} not found", "address": t}
            for t in tables
        ],
        "error": None,
        "parser_version": "synthetic",
    }
    if narrative:
        doc["narrative"] = dict(narrative)
    body = json.dumps({**doc, "revision": revision}, sort_keys=True, ensure_ascii=False).encode()
    doc["source"] = {
        "path": path or f"synthetic/{agency}-{year}-r{revision}.json",
        "sha256": sha256(body).hexdigest(),
        "format": "synthetic",
        "bytes": len(body),
    }
    return doc


def not_statutory(name: str = "notice.html") -> dict[str, Any]:
    """The parse result of a document that is not a statutory report (template null, no cells)."""
    body = f"notice:{name}".encode()
    source = {"path": name, "sha256": sha256(body).hexdigest(), "format": "html", "bytes": len(body)}
    return {"source": source, **empty_result()}
