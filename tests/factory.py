"""Document factory: synthetic 政府信息公开工作年度报告 of invented agencies, in every format.

Everything here is built from a *facts* dict (agency, year, template, publication date and a full
set of cell values keyed by template address, e.g. ``t3.new_received.natural_person``).  The
renderers print those facts in the statutory layout of the 2021 or 2019 format; nothing is ever
produced by running a parser, so the facts are the ground truth for every document made here.

Main entry points::

    cells = make_cells("gov2021", seed=3)            # consistent values for every address
    facts = make_facts("示例市教育局", 2023, seed=3)   # cells + agency/year/date
    render(facts, "pdf")                             # bytes of a whole report
    render_text / render_html / render_docx / render_pdf (cells, agency=..., year=..., ...)
    break_t4_total / break_t3_balance / ...          # publisher-style arithmetic errors
    empty_bytes / truncated_pdf / encrypted_pdf / random_bytes / image_only_pdf
    render_notice_html / render_blank_template

``python tests/factory.py --write-samples`` (re)writes the bundled demo set in sources/samples/
together with expected.json (the facts of every sample) and README.md.

The narrative sentences are invented for this factory; only the statutory labels (from
sources/template/templates.yaml) are shared with real reports.
"""

from __future__ import annotations

import argparse
import html as _html
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES_YAML = ROOT / "sources" / "template" / "templates.yaml"
SAMPLES_DIR = ROOT / "sources" / "samples"

# --------------------------------------------------------------------------------------------
# templates


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Any]:
    with open(TEMPLATES_YAML, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["templates"]


def _tpl(template: str) -> dict[str, Any]:
    return load_templates()[template]


# The statutory shape, read from the template YAML (the spec data, not the parser): 表三's columns,
# 表四's blocks and measures, the children of （六）其他处理 and the six section headings are the
# same in both formats.
_T3 = _tpl("gov2021")["tables"]["t3"]
_T4 = _tpl("gov2021")["tables"]["t4"]
T3_COLUMNS = [c["key"] for c in _T3["columns"]]
APPLICANT_COLUMNS = T3_COLUMNS[:-1]
T4_BLOCKS = [r["key"] for r in _T4["rows"]]
T4_MEASURES = [c["key"] for c in _T4["columns"]]
T4_PARTS = T4_MEASURES[:-1]
OTHER_2021 = list(_T3["group_children"]["other_handling"])
SECTION_LABELS = [sec["label"] for sec in _tpl("gov2021")["sections"]]


def t3_data_rows(template: str = "gov2021", single_other: bool = False) -> list[str]:
    """Keys of the printed data rows of 表三 in order (single_other: 2021 labels, one （六） row)."""
    rows = _tpl(template)["tables"]["t3"]["rows"]
    out = []
    for r in rows:
        if single_other and template == "gov2021":
            if r["key"] in OTHER_2021:
                continue
            if r["key"] == "other_handling":
                out.append("other_handling")
                continue
        if r.get("is_data_row"):
            out.append(r["key"])
    return out


def leaf_result_rows(template: str = "gov2021", single_other: bool = False) -> list[str]:
    leaves = list(_tpl(template)["tables"]["t3"]["leaf_result_rows"])
    if single_other and template == "gov2021":
        leaves = [k for k in leaves if k not in OTHER_2021] + ["other_handling"]
    return leaves


def addresses(template: str = "gov2021", single_other: bool = False) -> list[str]:
    """Every cell address of a template, in printed order (t2 sub-tables, t3, t4)."""
    tables = _tpl(template)["tables"]
    out: list[str] = []
    for sub in tables["t2"]["subtables"]:
        for row in sub["rows"]:
            for col in sub["columns"]:
                out.append(f"{sub['id']}.{row['key']}.{col['key']}")
    for rk in t3_data_rows(template, single_other):
        for c in T3_COLUMNS:
            out.append(f"t3.{rk}.{c}")
    out.extend(f"t4.{x}" for x in tables["t4"]["flattened_order"])
    return out


def detect_template(cells: dict[str, Any]) -> tuple[str, bool]:
    """(template, single_other) of a cells dict, from the addresses it carries."""
    template = "gov2019" if any(a.startswith("t2_art20_9.") for a in cells) else "gov2021"
    single_other = template == "gov2021" and "t3.other_handling.total" in cells
    return template, single_other


# --------------------------------------------------------------------------------------------
# cell values


def _amount(v: float | int | Decimal) -> float:
    return float(Decimal(str(v)))


def make_cells(
    template: str = "gov2021",
    seed: int = 0,
    *,
    single_other: bool = False,
    zero_requests: bool = False,
    requests: int | None = None,
    rule_power: bool = False,
    fee: float | None = None,
    fee_notices: int = 0,
    review: tuple[int, int, int, int] | None = None,
    litigation_direct: tuple[int, int, int, int] | None = None,
    litigation_after_review: tuple[int, int, int, int] | None = None,
) -> dict[str, Any]:
    """A full, arithmetically consistent set of cell values for ``template``.

    * 表三: every row total = sum of the 6 applicant columns; （七）总计 = sum of the leaf result
      rows; 一 + 二 = 三（七） + 四 in every column; nothing negative.
    * 表四: each block's 总计 = 维持 + 纠正 + 其他 + 尚未审结.
    * 表二: counts; 2021 fee in 万元 with decimals; 2019 signed 本年增/减 and procurement amount
      in 万元 (printed in 元 by the renderers).
    ``requests`` fixes the number of handled applications (the result total), ``zero_requests``
    makes the whole of 表三 zero, ``fee_notices`` puts applications on the （六）2 fee row (2021).
    """
    if template not in ("gov2021", "gov2019"):
        raise ValueError(f"unknown template {template!r}")
    rng = random.Random(f"{template}:{seed}")
    cells: dict[str, Any] = {}

    # ---- 表二
    if template == "gov2021":
        if rule_power:
            r_issued, r_rep = rng.randint(0, 4), rng.randint(0, 3)
            cells |= {
                "t2_art20_1.rules.issued": r_issued,
                "t2_art20_1.rules.repealed": r_rep,
                "t2_art20_1.rules.in_force": r_issued + rng.randint(8, 60),
            }
        else:
            cells |= {f"t2_art20_1.rules.{k}": 0 for k in ("issued", "repealed", "in_force")}
        n_issued = rng.randint(0, 12)
        cells |= {
            "t2_art20_1.normative_documents.issued": n_issued,
            "t2_art20_1.normative_documents.repealed": rng.randint(0, 9),
            "t2_art20_1.normative_documents.in_force": n_issued + rng.randint(3, 80),
            "t2_art20_5.admin_licensing.decisions": rng.choice([0, rng.randint(5, 400), rng.randint(400, 4000)]),
            "t2_art20_6.admin_penalty.decisions": rng.choice([0, rng.randint(1, 60), rng.randint(60, 900)]),
            "t2_art20_6.admin_coercion.decisions": rng.choice([0, 0, rng.randint(1, 40)]),
        }
        if fee is None:
            fee = rng.choice([0, rng.randint(1, 99999) / 100, rng.randint(1, 999999) / 1000])
        cells["t2_art20_8.admin_fees.fee_amount"] = _amount(fee)
    else:
        for r in ("rules", "normative_documents"):
            made = 0 if (r == "rules" and not rule_power) else rng.randint(0, 15)
            published = made if rng.random() < 0.8 else max(0, made - rng.randint(0, made))
            total = 0 if (r == "rules" and not rule_power) else published + rng.randint(0, 90)
            cells |= {
                f"t2_art20_1.{r}.newly_made": made,
                f"t2_art20_1.{r}.newly_published": published,
                f"t2_art20_1.{r}.total_published": total,
            }
        for tr, lo, hi in (
            ("t2_art20_5.admin_licensing", 10, 400),
            ("t2_art20_5.other_external_services", 0, 30),
            ("t2_art20_6.admin_penalty", 20, 2500),
            ("t2_art20_6.admin_coercion", 0, 120),
        ):
            prev = rng.randint(lo, hi)
            cells[f"{tr}.prev_year_items"] = prev
            cells[f"{tr}.change"] = max(-prev, rng.choice([0, 0, rng.randint(-6, 6)]))
            cells[f"{tr}.decisions"] = rng.choice([0, rng.randint(1, 300), rng.randint(300, 3000)])
        prev = rng.randint(0, 30)
        cells["t2_art20_8.admin_fees.prev_year_items"] = prev
        cells["t2_art20_8.admin_fees.change"] = max(-prev, rng.choice([0, rng.randint(-3, 2)]))
        projects = rng.randint(0, 180)
        cells["t2_art20_9.central_procurement.procurement_projects"] = projects
        cents = rng.randint(projects * 500_000, projects * 80_000_000 + 1) if projects else 0
        cells["t2_art20_9.central_procurement.procurement_amount"] = _amount(Decimal(cents) / Decimal(1_000_000))

    # ---- 表三
    leaves = leaf_result_rows(template, single_other)
    rows = t3_data_rows(template, single_other)
    t3 = {r: dict.fromkeys(APPLICANT_COLUMNS, 0) for r in rows}
    if not zero_requests:
        handled = requests if requests is not None else rng.choice([rng.randint(1, 12), rng.randint(12, 80)])
        row_w = {k: 1 for k in leaves}
        row_w |= {
            "granted": 34,
            "partially_granted": 9,
            "unable_not_held": 18,
            "unable_need_creation": 3,
            "unable_unclear_after_correction": 3,
            "denied_third_party_rights": 2,
            "denied_process_info": 2,
            "denied_admin_query": 3,
            "not_processed_repeat": 4,
            "not_processed_petition_complaint": 4,
            "other_no_correction_overdue": 3,
            "other_misc": 2,
            "other_handling": 5,
            "other_fee_unpaid_overdue": 0,
        }
        col_w = {
            "natural_person": 80,
            "legal_commercial": 12,
            "legal_research": 1,
            "legal_social_welfare": 1,
            "legal_legal_services": 3,
            "legal_other": 3,
        }
        lv = [k for k in leaves if row_w.get(k, 1) > 0]
        cw = list(col_w)
        for _ in range(handled):
            r = rng.choices(lv, weights=[row_w[k] for k in lv])[0]
            c = rng.choices(cw, weights=[col_w[k] for k in cw])[0]
            t3[r][c] += 1
        if fee_notices and "other_fee_unpaid_overdue" in t3:
            t3["other_fee_unpaid_overdue"]["natural_person"] += fee_notices
        for c in APPLICANT_COLUMNS:
            t3["result_total"][c] = sum(t3[k][c] for k in leaves)
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            t3["carry_to_next"][rng.choices(cw, weights=[col_w[k] for k in cw])[0]] += 1
        for c in APPLICANT_COLUMNS:
            co = rng.randint(0, min(2, t3["result_total"][c])) if rng.random() < 0.4 else 0
            t3["carried_over"][c] = co
            t3["new_received"][c] = t3["result_total"][c] + t3["carry_to_next"][c] - co
    for r in rows:
        for c in APPLICANT_COLUMNS:
            cells[f"t3.{r}.{c}"] = t3[r][c]
        cells[f"t3.{r}.total"] = sum(t3[r].values())

    # ---- 表四
    def block(spec, hi):
        if spec is None:
            spec = tuple(rng.choice([0, 0, 0, rng.randint(1, hi)]) for _ in range(4))
        return list(spec)

    for b, spec, hi in (
        ("review", review, 6),
        ("litigation_direct", litigation_direct, 3),
        ("litigation_after_review", litigation_after_review, 2),
    ):
        parts = block(spec, hi)
        for m, v in zip(T4_PARTS, parts, strict=True):
            cells[f"t4.{b}.{m}"] = v
        cells[f"t4.{b}.total"] = sum(parts)

    order = addresses(template, single_other)
    assert set(order) == set(cells), set(order) ^ set(cells)
    return {a: cells[a] for a in order}


def blank_cells(template: str = "gov2021", single_other: bool = False) -> dict[str, Any]:
    """Every address with value None (printed as an empty cell): the blank template."""
    return dict.fromkeys(addresses(template, single_other))


def check_cells(cells: dict[str, Any]) -> list[str]:
    """Rule violations of a cells dict, as strings ``RULE_ID:address-or-detail`` (empty = consistent)."""
    template, single_other = detect_template(cells)
    out: list[str] = []

    def num(a):
        v = cells.get(a)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    for a, v in cells.items():
        if v is None:
            continue
        if a.endswith(".change"):
            if not isinstance(v, int):
                out.append(f"TYPES:{a}")
        elif a.endswith((".fee_amount", ".procurement_amount")):
            if not isinstance(v, (int, float)) or v < 0:
                out.append(f"TYPES:{a}")
        elif not isinstance(v, int) or isinstance(v, bool) or v < 0:
            out.append(f"TYPES:{a}")
    rows = t3_data_rows(template, single_other)
    leaves = leaf_result_rows(template, single_other)
    for c in T3_COLUMNS:
        vals = [num(f"t3.{r}.{c}") for r in ("new_received", "carried_over", "result_total", "carry_to_next")]
        if None not in vals and vals[0] + vals[1] != vals[2] + vals[3]:
            out.append(f"T3_BALANCE:{c}")
        lv = [num(f"t3.{k}.{c}") for k in leaves]
        rt = num(f"t3.result_total.{c}")
        if None not in lv and rt is not None and sum(lv) != rt:
            out.append(f"T3_RESULT_SUM:{c}")
    for r in rows:
        parts = [num(f"t3.{r}.{c}") for c in APPLICANT_COLUMNS]
        tot = num(f"t3.{r}.total")
        if None not in parts and tot is not None and sum(parts) != tot:
            out.append(f"T3_ROW_TOTAL:{r}")
    for b in T4_BLOCKS:
        parts = [num(f"t4.{b}.{m}") for m in T4_PARTS]
        tot = num(f"t4.{b}.total")
        if None not in parts and tot is not None and sum(parts) != tot:
            out.append(f"T4_BLOCK_TOTAL:{b}")
    if template == "gov2021":
        for r in ("rules", "normative_documents"):
            i, rep, f = (num(f"t2_art20_1.{r}.{k}") for k in ("issued", "repealed", "in_force"))
            if None not in (i, rep, f) and i > f + rep:
                out.append(f"T2_ISSUED_VS_INFORCE:{r}")
    else:
        for r in ("rules", "normative_documents"):
            p, t = num(f"t2_art20_1.{r}.newly_published"), num(f"t2_art20_1.{r}.total_published")
            if None not in (p, t) and p > t:
                out.append(f"T2_2019_PUBLISHED_LE_TOTAL:{r}")
        for tr in (
            "t2_art20_5.admin_licensing",
            "t2_art20_5.other_external_services",
            "t2_art20_6.admin_penalty",
            "t2_art20_6.admin_coercion",
            "t2_art20_8.admin_fees",
        ):
            p, ch = num(f"{tr}.prev_year_items"), num(f"{tr}.change")
            if None not in (p, ch) and p + ch < 0:
                out.append(f"T2_2019_ITEMS_NONNEG:{tr}")
    return out


# ---- rule breakers (return a new dict; the input is not modified)


def set_cells(cells: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Copy with some cells replaced; keys use '__' for '.' (t4__review__total=0)."""
    out = dict(cells)
    for k, v in changes.items():
        a = k.replace("__", ".")
        if a not in out:
            raise KeyError(a)
        out[a] = v
    return out


def break_t4_total(
    cells: dict[str, Any],
    block: str = "review",
    parts: tuple[int, int, int, int] | None = (10, 1, 0, 0),
    printed_total: int = 0,
) -> dict[str, Any]:
    """Publisher error of 表四: the block's parts (default 10/1/0/0) with 总计 printed as ``printed_total``.

    Breaks T4_BLOCK_TOTAL for ``block`` only.
    """
    out = dict(cells)
    if parts is not None:
        for m, v in zip(T4_PARTS, parts, strict=True):
            out[f"t4.{block}.{m}"] = v
    out[f"t4.{block}.total"] = printed_total
    return out


def break_t3_balance(cells: dict[str, Any], column: str = "natural_person", delta: int = 1) -> dict[str, Any]:
    """四、结转下年度 off by ``delta`` in ``column`` (and in 总计, so row totals still add up).

    Breaks T3_BALANCE for ``column`` and for total.
    """
    out = dict(cells)
    out[f"t3.carry_to_next.{column}"] += delta
    if column != "total":
        out["t3.carry_to_next.total"] += delta
    return out


def break_t3_row_total(cells: dict[str, Any], row: str = "carried_over", delta: int = 1) -> dict[str, Any]:
    """A row's 总计 off by ``delta``.

    Breaks T3_ROW_TOTAL for ``row`` (and T3_BALANCE / T3_RESULT_SUM of the total column it enters).
    """
    out = dict(cells)
    out[f"t3.{row}.total"] += delta
    return out


def break_t3_result_sum(cells: dict[str, Any], column: str = "natural_person", delta: int = 1) -> dict[str, Any]:
    """（七）总计 off by ``delta`` against its leaf rows, with 四 adjusted so that T3_BALANCE still holds.

    Breaks T3_RESULT_SUM for ``column`` and total only (carry_to_next must stay >= 0).
    """
    out = dict(cells)
    for c in {column, "total"}:
        out[f"t3.result_total.{c}"] += delta
        out[f"t3.carry_to_next.{c}"] -= delta
    if out[f"t3.carry_to_next.{column}"] < 0:
        raise ValueError("carry_to_next would become negative; pick a negative delta or other cells")
    return out


# --------------------------------------------------------------------------------------------
# facts


def make_facts(
    agency: str = "示例市人力资源和社会保障局",
    year: int = 2023,
    template: str = "gov2021",
    seed: int = 0,
    *,
    published: str | None = None,
    single_other: bool = False,
    **cell_kwargs: Any,
) -> dict[str, Any]:
    """Facts of one report: agency, year, template, publication date (ISO) and the cells."""
    rng = random.Random(f"facts:{agency}:{year}:{seed}")
    if published is None:
        published = f"{year + 1}-01-{rng.randint(8, 29):02d}"
    cells = make_cells(template, seed, single_other=single_other, **cell_kwargs)
    return {
        "agency": agency,
        "year": year,
        "template": template,
        "single_other": single_other,
        "published": published,
        "seed": seed,
        "cells": cells,
    }


def _zh_date(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{y}年{m}月{d}日"


# --------------------------------------------------------------------------------------------
# value formatting

FW_DIGITS = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _dec_str(v: float | int) -> str:
    d = Decimal(str(v))
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def fmt_value(addr: str, v: Any, *, procurement_unit: str = "元") -> str:
    """The printed text of one cell value (None -> '', str printed as is)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if addr.endswith(".change"):
        return f"+{v}" if v > 0 else str(v)
    if addr.endswith(".procurement_amount"):
        if procurement_unit == "元":
            yuan = Decimal(str(v)) * 10000
            return f"{yuan.quantize(Decimal('0.01'))}元" if v else "0"
        return _dec_str(v) + procurement_unit
    if addr.endswith(".fee_amount"):
        return _dec_str(v)
    return str(v)


# --------------------------------------------------------------------------------------------
# table grids (shared by all renderers)


@dataclass
class GCell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    kind: str = "label"  # caption | header | label | group | value
    addr: str | None = None
    vertical: bool = False


@dataclass
class Grid:
    key: str  # t2 | t3 | t4
    ncols: int
    rows: list[list[GCell]]
    row_keys: list[str | None] = field(default_factory=list)


def _v(cells, addr, colspan=1, **kw) -> GCell:
    return GCell(fmt_value(addr, cells.get(addr), **kw), colspan=colspan, kind="value", addr=addr)


def t2_grid(cells: dict[str, Any], template: str) -> Grid:
    rows: list[list[GCell]] = []
    keys: list[str | None] = []
    for sub in _tpl(template)["tables"]["t2"]["subtables"]:
        rows.append([GCell(sub["caption"], colspan=4, kind="caption")])
        keys.append(None)
        cols = sub["columns"]
        spans = {1: [3], 2: [1, 2], 3: [1, 1, 1]}[len(cols)]
        rows.append(
            [GCell("信息内容", kind="header")]
            + [GCell(c["label"], colspan=s, kind="header") for c, s in zip(cols, spans, strict=True)]
        )
        keys.append(None)
        for r in sub["rows"]:
            rows.append(
                [GCell(r["label"])]
                + [_v(cells, f"{sub['id']}.{r['key']}.{c['key']}", s) for c, s in zip(cols, spans, strict=True)]
            )
            keys.append(f"{sub['id']}.{r['key']}")
    return Grid("t2", 4, rows, keys)


def t3_grid(cells: dict[str, Any], template: str, single_other: bool = False) -> Grid:
    t3 = _tpl(template)["tables"]["t3"]
    labels = {r["key"]: r["label"] for r in t3["rows"]}
    col_labels = {c["key"]: c["label"] for c in t3["columns"]}
    rows: list[list[GCell]] = [
        [
            GCell(t3["header"]["top_left_note"], rowspan=3, colspan=3, kind="header"),
            GCell("申请人情况", colspan=7, kind="header"),
        ],
        [
            GCell(col_labels["natural_person"], rowspan=2, kind="header"),
            GCell("法人或其他组织", colspan=5, kind="header"),
            GCell(col_labels["total"], rowspan=2, kind="header"),
        ],
        [GCell(col_labels[c], kind="header") for c in APPLICANT_COLUMNS[1:]],
    ]
    keys: list[str | None] = [None, None, None]
    data_rows = t3_data_rows(template, single_other)
    groups = {g: list(ch) for g, ch in t3["group_children"].items()}
    if single_other or template == "gov2019":
        groups.pop("other_handling", None)
    child_of = {c: g for g, ch in groups.items() for c in ch}
    result_rows = [r for r in data_rows if r not in ("new_received", "carried_over", "carry_to_next")]
    for rk in data_rows:
        vals = [_v(cells, f"t3.{rk}.{c}") for c in T3_COLUMNS]
        if rk in ("new_received", "carried_over", "carry_to_next"):
            row = [GCell(labels[rk], colspan=3)]
        else:
            row = []
            if rk == result_rows[0]:
                row.append(GCell(labels["results"], rowspan=len(result_rows), kind="group", vertical=True))
            g = child_of.get(rk)
            if g is None:
                row.append(GCell(labels[rk], colspan=2))
            else:
                if groups[g][0] == rk:
                    row.append(GCell(labels[g], rowspan=len(groups[g]), kind="group"))
                row.append(GCell(labels[rk]))
        rows.append(row + vals)
        keys.append(rk)
    return Grid("t3", 10, rows, keys)


def t4_grid(cells: dict[str, Any], template: str) -> Grid:
    t4 = _tpl(template)["tables"]["t4"]
    bl = {r["key"]: r["label"] for r in t4["rows"]}
    ml = {c["key"]: c["label"] for c in t4["columns"]}
    rows = [
        [GCell(bl["review"], colspan=5, kind="header"), GCell("行政诉讼", colspan=10, kind="header")],
        [GCell(ml[m], rowspan=2, kind="header") for m in T4_MEASURES]
        + [
            GCell(bl["litigation_direct"], colspan=5, kind="header"),
            GCell(bl["litigation_after_review"], colspan=5, kind="header"),
        ],
        [GCell(ml[m], kind="header") for m in T4_MEASURES] * 2,
        [_v(cells, f"t4.{x}") for x in t4["flattened_order"]],
    ]
    return Grid("t4", 15, rows, [None, None, None, "data"])


def grids(cells: dict[str, Any]) -> dict[str, Grid]:
    template, single_other = detect_template(cells)
    return {
        "t2": t2_grid(cells, template),
        "t3": t3_grid(cells, template, single_other),
        "t4": t4_grid(cells, template),
    }


def place(grid: Grid) -> list[tuple[int, int, GCell]]:
    """(row, column, cell) of every physical cell, resolving rowspan/colspan occupancy."""
    occ: set[tuple[int, int]] = set()
    out = []
    for r, row in enumerate(grid.rows):
        c = 0
        for cell in row:
            while (r, c) in occ:
                c += 1
            out.append((r, c, cell))
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    occ.add((r + dr, c + dc))
            c += cell.colspan
    return out


def grid_matrix(grid: Grid) -> list[list[str]]:
    """The table as a full rectangle of strings; covered positions are ''."""
    m = [[""] * grid.ncols for _ in grid.rows]
    for r, c, cell in place(grid):
        m[r][c] = cell.text
    return m


# --------------------------------------------------------------------------------------------
# narrative (invented sentences)

_OVERALL = {
    "（一）主动公开": [
        "{agency}坚持以公开为常态、不公开为例外，围绕年度重点工作及时发布政策文件、工作动态和办事指南，"
        "全年通过门户网站主动公开政府信息{n_posts}条。",
        "全年在政府信息公开专栏发布各类信息{n_posts}条，"
        "重点做好财政预决算、重大建设项目和民生实事等领域信息发布，"
        "做到应公开尽公开。",
    ],
    "（二）依申请公开": [
        "{agency}严格落实依申请公开登记、审核、答复等环节的办理规范，{requests_sentence}"
        "所有申请均在法定期限内作出答复。",
        "进一步完善依申请公开工作流程，统一答复文书格式，{requests_sentence}办理过程中注重与申请人沟通。",
    ],
    "（三）政府信息管理": [
        "建立信息发布前保密审查和内容审核机制，落实专人负责、分级审核的工作要求，"
        "定期对已公开的政策文件进行梳理，及时标注失效、废止情况。",
        "健全政府信息公开属性源头认定制度，公文在拟制环节即明确公开方式，对存量信息开展清理，确保公开内容准确、规范。",
    ],
    "（四）政府信息公开平台建设": [
        "持续优化政府信息公开专栏的栏目设置，完善站内检索和政策文件库功能，"
        "同步通过政务新媒体推送重要政策信息，方便公众查阅。",
        "以门户网站为第一平台，整合政务新媒体、政务服务大厅公开查阅点等渠道，推动公开平台集约化、规范化运行。",
    ],
    "（五）监督保障": [
        "将政务公开工作纳入年度目标考核，组织业务培训{n_training}次，对信息发布情况开展季度自查，发现问题及时整改。",
        "成立由分管负责同志牵头的政务公开工作小组，明确专职工作人员，"
        "本年度未发生因政府信息公开工作受到责任追究的情况。",
    ],
}

_PROBLEMS = [
    "本年度政府信息公开工作仍存在一些不足：一是部分领域信息更新频率不够高；二是政策解读形式还不够丰富；"
    "三是工作人员业务能力有待进一步提升。",
    "对照上级要求，我们的工作还存在差距，主要是公开内容的深度还不够，与公众需求的对接还不够精准，"
    "依申请公开答复的规范化水平仍需提高。",
]
_IMPROVE = [
    "下一步，将围绕公众关注的热点问题加大主动公开力度，丰富图文、音视频等解读形式，"
    "定期组织业务培训，持续提升政务公开工作质量。",
    "下一步，我们将健全信息发布审核和动态更新机制，加强依申请公开案例学习，"
    "进一步规范答复文书，不断提高政府信息公开工作水平。",
]


def _req_numbers(cells: dict[str, Any]) -> dict[str, int]:
    template, single_other = detect_template(cells)
    t3 = _tpl(template)["tables"]["t3"]
    groups = {g: list(ch) for g, ch in t3["group_children"].items()}
    if template == "gov2019" or single_other:
        groups["other_handling"] = ["other_handling"]

    def tot(r):
        v = cells.get(f"t3.{r}.total")
        return v if isinstance(v, int) else 0

    out = {
        "new": tot("new_received"),
        "carried": tot("carried_over"),
        "handled": tot("result_total"),
        "carry_next": tot("carry_to_next"),
        "granted": tot("granted"),
        "partially": tot("partially_granted"),
    }
    for g in ("denied", "unable_to_provide", "not_processed", "other_handling"):
        out[g] = sum(tot(k) for k in groups[g])
    out["fee_notices"] = tot("other_fee_unpaid_overdue") if template == "gov2021" and not single_other else 0

    def t4sum(b):
        return sum(cells.get(f"t4.{b}.{m}") or 0 for m in T4_PARTS if isinstance(cells.get(f"t4.{b}.{m}"), int))

    out["review"] = t4sum("review")
    out["litigation"] = t4sum("litigation_direct") + t4sum("litigation_after_review")
    return out


def narrative(cells: dict[str, Any], agency: str, year: int, seed: int = 0) -> dict[str, list[str]]:
    """Paragraphs of the six sections (subheadings are separate paragraphs), consistent with the cells.

    Mentions the request counts (全年共收到政府信息公开申请N件 = 表三 一 总计), outcomes by group, the
    carry-over, and 行政复议/行政诉讼 counts computed from the 表四 parts (not the printed 总计).
    """
    rng = random.Random(f"narr:{agency}:{year}:{seed}")
    n = _req_numbers(cells)
    template, _ = detect_template(cells)
    if n["new"] + n["carried"] == 0:
        req = f"{year}年全年未收到政府信息公开申请。"
    else:
        req = f"{year}年全年共收到政府信息公开申请{n['new']}件，"
        if n["carried"]:
            req += f"上年结转{n['carried']}件，"
    ctx = {
        "agency": agency,
        "n_posts": rng.randint(80, 2600),
        "n_training": rng.randint(2, 6),
        "requests_sentence": req,
    }
    sec1 = [
        f"{year}年，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，"
        "不断健全公开制度、丰富公开载体，政府信息公开工作有序推进。"
    ]
    for head, pool in _OVERALL.items():
        sec1.append(head)
        sec1.append(rng.choice(pool).format(**ctx))
    if n["new"] + n["carried"] == 0:
        sec3 = ["本年度未收到政府信息公开申请，无上年结转申请。"]
    else:
        s = f"本年度共收到政府信息公开申请{n['new']}件"
        if n["carried"]:
            s += f"，上年结转{n['carried']}件"
        s += f"；办理完结{n['handled']}件，其中予以公开{n['granted']}件、部分公开{n['partially']}件"
        for g, word in (
            ("denied", "不予公开"),
            ("unable_to_provide", "无法提供"),
            ("not_processed", "不予处理"),
            ("other_handling", "其他处理"),
        ):
            if n[g]:
                s += f"、{word}{n[g]}件"
        s += "。"
        if n["carry_next"]:
            s += f"结转下年度继续办理{n['carry_next']}件。"
        sec3 = [s]
    if n["review"] + n["litigation"] == 0:
        sec4 = ["本年度未发生因政府信息公开工作被申请行政复议、提起行政诉讼的情况。"]
    else:
        sec4 = [f"本年度因政府信息公开工作被申请行政复议{n['review']}件，被提起行政诉讼{n['litigation']}件。"]
    sec5 = [rng.choice(_PROBLEMS), rng.choice(_IMPROVE)]
    if template == "gov2021":
        if n["fee_notices"]:
            sec6 = [
                f"本年度依据《政府信息公开信息处理费管理办法》共发出收费通知{n['fee_notices']}件，"
                "申请人均未在期限内缴纳，相关申请已终止办理。"
            ]
        else:
            sec6 = ["本年度未收取信息处理费。"]
    else:
        sec6 = ["本年度无其他需要报告的事项。"]
    return {"overall": sec1, "t2": [], "t3": sec3, "t4": sec4, "problems": sec5, "other": sec6}


def _intro(agency: str, year: int) -> str:
    return (
        f"本报告根据《中华人民共和国政府信息公开条例》要求，由{agency}编制。"
        f"本报告所列数据的统计期限为{year}年1月1日至{year}年12月31日。"
        f"如对本报告有疑问，请与{agency}办公室联系。"
    )


def _title(agency: str | None, year: int | None) -> str:
    if agency is None:
        return "政府信息公开工作年度报告格式模板"
    return f"{agency}{year}年政府信息公开工作年度报告"


# --------------------------------------------------------------------------------------------
# quirks

TEXT_QUIRKS = {
    "bookmark": "t4.litigation_direct.total",  # '[bookmark: _GoBack]0' (10th cell of the 表四 row)
    "ideographic_space": ("t2_art20_1.normative_documents.in_force", "t3.carried_over.natural_person"),
    "fullwidth_digits": ("t3.new_received.total",),
    "wrap_row": "not_processed_confirm_or_reissue",  # label wrapped over two lines
    "spaced_header": True,  # '结果 维持' in the 表四 header
}


def _apply_cell_quirks(grid: Grid, q: dict[str, Any]) -> None:
    for row in grid.rows:
        for cell in row:
            if cell.addr is None or cell.text == "":
                continue
            if cell.addr in q.get("fullwidth_digits", ()):
                cell.text = cell.text.translate(FW_DIGITS)
            if cell.addr in q.get("ideographic_space", ()):
                cell.text = "\u3000\u3000" + cell.text
            if cell.addr == q.get("bookmark"):
                cell.text = "[bookmark: _GoBack]" + cell.text


# --------------------------------------------------------------------------------------------
# plain text


def render_text(
    cells: dict[str, Any],
    *,
    agency: str | None = "示例市人力资源和社会保障局",
    year: int | None = 2023,
    published: str | None = None,
    seed: int = 0,
    quirks: bool | dict[str, Any] = True,
    layout: str = "rows",
) -> bytes:
    """UTF-8 text as extracted from a real report: tab-separated table rows.

    ``layout="rows"``: one printed table row per line, every grid position a tab-separated cell
    (positions covered by rowspan/colspan are empty cells).  ``layout="cells"``: one cell per line,
    tab-indented, rows separated by a blank line (the DOCX-extraction style).  ``layout="pipe"``:
    Markdown pipe tables as PDF → Markdown converters write them (``| a | b |``, ``|---|`` after the
    first row, spanned positions as empty cells).
    Quirks (``quirks=True`` -> TEXT_QUIRKS): '[bookmark: _GoBack]' before the 10th 表四 number,
    U+3000 before two numbers, full-width digits in one cell, the （五）5 label wrapped over two
    lines, '结果 维持' with a space in the 表四 header.
    """
    q = TEXT_QUIRKS if quirks is True else (quirks or {})
    published = published or (f"{year + 1}-01-15" if year else None)
    g = grids(cells)
    for grid in g.values():
        _apply_cell_quirks(grid, q)
    if q.get("spaced_header"):
        for row in g["t4"].rows[1:3]:
            for cell in row:
                if len(cell.text) == 4 and cell.text != "尚未审结":
                    cell.text = cell.text[:2] + " " + cell.text[2:]
    lines: list[str] = []

    def table(grid: Grid):
        m = grid_matrix(grid)
        if layout == "pipe":
            # A PDF → Markdown converter: every grid position a cell, a separator after the first row.
            for i, row in enumerate(m):
                lines.append("| " + " | ".join(c.replace("\n", "<br>") for c in row) + " |")
                if i == 0:
                    lines.append("|" + "---|" * len(row))
            return
        for key, row in zip(grid.row_keys, m, strict=True):
            if layout == "cells":
                for c in row:
                    if key == q.get("wrap_row") and grid.key == "t3" and c.startswith("5."):
                        c = c[: len(c) * 2 // 3] + "\n" + c[len(c) * 2 // 3 :]  # continuation line, no tab
                    lines.append("\t" + c)
                lines.append("")
                continue
            if key == q.get("wrap_row") and grid.key == "t3":
                label = next(c for c in row if c)
                i = row.index(label)
                cut = len(label) * 2 // 3
                lines.append("\t".join(row[:i] + [label[:cut]]))
                lines.append("\t".join(row[:i] + [label[cut:]] + row[i + 1 :]))
                continue
            lines.append("\t".join(row))

    if agency is not None:
        lines += [agency, f"{year}年政府信息公开工作年度报告", ""]
        lines += [_intro(agency, year), ""]
        narr = narrative(cells, agency, year, seed)
    else:
        lines += [_title(None, None), ""]
        narr = {k: ["（文字描述）"] for k in ("overall", "problems", "other")} | {
            "t2": [],
            "t3": [],
            "t4": [],
        }
    for label, key, grid in zip(
        SECTION_LABELS,
        ["overall", "t2", "t3", "t4", "problems", "other"],
        [None, "t2", "t3", "t4", None, None],
        strict=True,
    ):
        lines += [label, ""]
        for p in narr[key]:
            lines += [p, ""]
        if grid:
            table(g[grid])
            lines.append("")
    if agency is not None:
        lines += ["", agency, _zh_date(published)]
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# HTML

_CSS = """body{margin:0;font-family:"Microsoft YaHei",SimSun,sans-serif;color:#333;background:#f5f5f5}
.top{background:#1b4f93;color:#fff;font-size:12px;padding:4px 40px}.top a{color:#fff;margin-right:12px}
.header{background:#fff;padding:18px 40px}.header .site{font-size:28px;color:#1b4f93;font-weight:bold}
.nav{background:#2466b5;margin:0;padding:0 40px;list-style:none;overflow:hidden}
.nav li{float:left}.nav a{display:block;color:#fff;padding:10px 22px;text-decoration:none}
.crumb{padding:10px 40px;font-size:13px}.article{background:#fff;margin:0 40px;padding:30px 60px}
.article h2{text-align:center;font-size:24px;color:#000}.info{text-align:center;font-size:13px;color:#888;
border-bottom:1px dashed #ccc;padding-bottom:10px}.info span{margin:0 10px}
#zoom p{text-indent:2em;line-height:2;font-size:16px}#zoom table{border-collapse:collapse;margin:10px auto}
#zoom td{border:1px solid #000;padding:2px 4px;font-size:14px;text-align:center}
.footer{background:#2c3e50;color:#ccc;font-size:12px;text-align:center;padding:20px}"""


def _site(agency: str) -> str:
    for suffix in ("市", "县", "区"):
        i = agency.find(suffix)
        if 0 < i <= 6:
            return agency[: i + 1] + "人民政府"
    return "示例市人民政府"


def _html_cell(cell: GCell, tag: str = "td", br_headers: bool = False) -> str:
    attrs = ""
    if cell.rowspan > 1:
        attrs += f' rowspan="{cell.rowspan}"'
    if cell.colspan > 1:
        attrs += f' colspan="{cell.colspan}"'
    text = _html.escape(cell.text)
    if br_headers and cell.kind == "header" and len(cell.text) == 4 and cell.text not in ("信息内容", "申请人情况"):
        text = text[:2] + "<br/>" + text[2:]
    if cell.kind == "value":
        inner = (
            '<p style="text-align:center;text-indent:0">'
            f'<span style="font-family:宋体;font-size:10.5pt">{text}</span></p>'
        )
    elif cell.kind in ("group", "label") and cell.rowspan == 1:
        inner = f'<p style="text-align:left;text-indent:0"><span style="font-family:宋体">{text}</span></p>'
    else:
        inner = f'<span style="font-family:宋体">{text}</span>'
    style = ' style="width:24px"' if cell.vertical else ""
    return f"<{tag}{attrs}{style}>{inner}</{tag}>"


def _html_rows(grid: Grid, nbsp_addr: str | None, br_headers: bool) -> list[str]:
    out = []
    for row in grid.rows:
        tds = []
        for cell in row:
            h = _html_cell(cell, br_headers=br_headers)
            if cell.addr is not None and cell.addr == nbsp_addr and cell.text:
                h = h.replace(">" + _html.escape(cell.text) + "<", ">&nbsp;" + _html.escape(cell.text) + "&nbsp;<")
            tds.append(h)
        out.append("<tr>" + "".join(tds) + "</tr>")
    return out


def _html_page(title: str, agency: str, published: str, body: list[str], encoding: str, year: int | None) -> str:
    site = _site(agency)
    if encoding == "utf-8":
        meta = '<meta charset="utf-8">'
    else:
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">'
    related = []
    if year:
        related = [
            f'<li><a href="../{year - k}/index.html">{agency}{year - k}年政府信息公开工作年度报告</a>'
            f"<span>{year - k + 1}-01-2{k}</span></li>"
            for k in (1, 2)
        ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="zh-CN">',
            "<head>",
            meta,
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
            f"<title>{_html.escape(title)}_{site}</title>",
            f'<meta name="SiteName" content="{site}">',
            '<meta name="ColumnName" content="政府信息公开年报">',
            f'<meta name="ArticleTitle" content="{_html.escape(title)}">',
            f'<meta name="PubDate" content="{published} 09:30">',
            f'<meta name="ContentSource" content="{agency}">',
            f"<style>{_CSS}</style>",
            '<script type="text/javascript">var siteConf={siteId:"0000",columnId:"xxgknb",search:"/search"};'
            "function setFont(s){document.getElementById('zoom').style.fontSize=s+'px';}</script>",
            "</head>",
            "<body>",
            '<div class="top"><a href="/">无障碍浏览</a><a href="/">长者模式</a><a href="/">English</a>'
            '<a href="/">登录</a><a href="/">注册</a></div>',
            f'<div class="header"><span class="site">{site}</span>'
            '<form action="/search" method="get"><input name="q" placeholder="请输入关键字">'
            "<button>搜索</button></form></div>",
            '<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>'
            '<li><a href="/zwfw/">政务服务</a></li><li><a href="/hdjl/">互动交流</a></li>'
            '<li><a href="/zjsl/">走进示例</a></li><li><a href="/zfxxgk/">政府信息公开</a></li></ul>',
            '<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zfxxgk/">政府信息公开</a> &gt; '
            '<a href="/zfxxgk/nb/">政府信息公开年报</a></div>',
            '<div class="article">',
            f"<h2>{_html.escape(title)}</h2>",
            f'<div class="info"><span>发布日期：{published}</span><span>来源：{agency}</span>'
            '<span>浏览次数：<em id="hits">--</em></span>'
            '<span>字号：<a href="javascript:setFont(18)">大</a> <a href="javascript:setFont(16)">中</a> '
            '<a href="javascript:setFont(14)">小</a></span></div>',
            '<div class="content" id="zoom">',
            *body,
            "</div>",
            '<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> '
            '<a href="javascript:window.print()">【打印本页】</a> '
            '<a href="javascript:window.close()">【关闭窗口】</a></div>',
            "</div>",
            '<div class="related"><h3>相关链接</h3><ul>' + "".join(related) + "</ul></div>",
            '<div class="footer"><p>主办单位：' + site + "办公室　承办单位：示例市大数据服务中心</p>"
            "<p>网站标识码：0000000000　示ICP备00000000号-1　示公网安备 00000000000000号</p>"
            "<p>地址：示例市示例大道1号　联系电话：0000-00000000　建议使用1366×768分辨率浏览</p></div>",
            "</body>",
            "</html>",
        ]
    )


# OpenCC s2t gives some orthodox forms that Big5 lacks; big5 gateways print the common variants
_BIG5_VARIANTS = str.maketrans({"爲": "為", "衆": "眾", "僞": "偽", "啓": "啟", "裏": "裡", "綫": "線", "峯": "峰"})


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "big5":
        from opencc import OpenCC

        text = OpenCC("s2t").convert(text).translate(_BIG5_VARIANTS)
    return text.encode(encoding, errors="xmlcharrefreplace")


def render_html(
    cells: dict[str, Any],
    *,
    agency: str | None = "示例县自然资源局",
    year: int | None = 2023,
    published: str | None = None,
    seed: int = 0,
    encoding: str = "utf-8",
    single_table: bool = False,
    quirks: bool = True,
) -> bytes:
    """A government-site article page with the report; tables are true HTML tables.

    表三: 3 header rows (note rowspan 3 colspan 3; 申请人情况 colspan 7; 自然人/总计 rowspan 2;
    法人或其他组织 colspan 5); 三、本年度办理结果 rowspan over all result rows; group labels rowspan;
    level-0 labels colspan 3, （一）（二）（七） colspan 2.  表四: 行政复议 colspan 5 | 行政诉讼 colspan 10;
    measures rowspan 2 | 未经复议直接起诉 colspan 5 | 复议后起诉 colspan 5; 10 measures; one data row
    of 15 cells.  ``encoding``: utf-8 (``<meta charset>``), gbk or big5 (``http-equiv`` meta; big5
    pages are converted to traditional characters with OpenCC s2t, as gateway sites do).
    ``single_table``: 表二, 表三 and 表四 in one ``<table>`` with the 三/四 headings as full-width
    rows inside it.  Quirks: ``&nbsp;`` around one number, ``<br/>`` inside 4-character header
    labels, values wrapped in ``<p><span>``.
    """
    published = published or (f"{year + 1}-01-15" if year else "2024-01-15")
    g = grids(cells)
    nbsp = "t3.new_received.total" if quirks else None
    title = _title(agency, year)
    if agency is not None:
        narr = narrative(cells, agency, year, seed)
        body = [f"<p>{_html.escape(_intro(agency, year))}</p>"]
    else:
        narr = {k: ["（文字描述）"] for k in ("overall", "problems", "other")} | {
            "t2": [],
            "t3": [],
            "t4": [],
        }
        body = []

    def para(t, heading=False):
        if heading:
            return f'<p style="text-indent:2em"><strong>{_html.escape(t)}</strong></p>'
        return f"<p>{_html.escape(t)}</p>"

    def table_open():
        return '<table border="1" cellspacing="0" cellpadding="0" width="100%" style="border-collapse:collapse">'

    keys = ["overall", "t2", "t3", "t4", "problems", "other"]
    if not single_table:
        for label, key in zip(SECTION_LABELS, keys, strict=True):
            body.append(para(label, True))
            for p in narr[key]:
                body.append(para(p, p.startswith("（") and len(p) < 16))
            if key in g:
                body += [table_open(), "<tbody>", *_html_rows(g[key], nbsp, quirks), "</tbody></table>"]
    else:
        body.append(para(SECTION_LABELS[0], True))
        body += [para(p, p.startswith("（") and len(p) < 16) for p in narr["overall"]]
        body.append(para(SECTION_LABELS[1], True))
        body += [table_open(), "<tbody>"]
        body += _html_rows(g["t2"], nbsp, quirks)
        for label, key in ((SECTION_LABELS[2], "t3"), (SECTION_LABELS[3], "t4")):
            body.append(
                f'<tr><td colspan="{g[key].ncols}" style="text-align:left;border:none">'
                f"<p><strong>{_html.escape(label)}</strong></p></td></tr>"
            )
            body += _html_rows(g[key], nbsp, quirks)
        body.append("</tbody></table>")
        for label, key in zip(SECTION_LABELS[4:], keys[4:], strict=True):
            body.append(para(label, True))
            body += [para(p) for p in narr[key]]
    if agency is not None:
        body.append(f'<p style="text-align:right">{_html.escape(agency)}</p>')
        body.append(f'<p style="text-align:right">{_zh_date(published)}</p>')
    page = _html_page(title, agency or "示例市人民政府办公室", published, body, encoding, year)
    return _encode(page, encoding)


def render_notice_html(
    agency: str = "示例市人力资源和社会保障局",
    published: str = "2024-03-12",
    *,
    encoding: str = "utf-8",
) -> bytes:
    """An unrelated notice on the same kind of site: not a statutory report (no template, no cells).

    It carries a table with numbers (a list of training bases) and the site's 政府信息公开 nav.
    """
    year = int(published[:4])
    title = f"{agency}关于公布{year}年度第一批就业见习基地名单的通知"
    body = [
        "<p>各县（市、区）人力资源和社会保障部门，各有关单位：</p>",
        f"<p>根据就业见习工作有关要求，经单位申报、实地核查和集体研究，"
        f"现将{year}年度第一批就业见习基地名单予以公布。"
        "请各见习基地按照计划开发见习岗位，规范见习管理，切实保障见习人员合法权益。</p>",
        "<p>附件：就业见习基地名单</p>",
        '<table border="1" cellspacing="0" width="100%"><tbody>',
        "<tr><td>序号</td><td>单位名称</td><td>所在地</td><td>见习岗位数</td></tr>",
    ]
    names = [
        "示例科技有限公司",
        "示例物流集团有限公司",
        "示例市第一人民医院",
        "示例食品股份有限公司",
        "示例建筑设计研究院",
    ]
    rng = random.Random(f"notice:{agency}:{published}")
    for i, name in enumerate(names, 1):
        body.append(f"<tr><td>{i}</td><td>{name}</td><td>示例市</td><td>{rng.randint(5, 60)}</td></tr>")
    body += [
        "</tbody></table>",
        f'<p style="text-align:right">{agency}</p>',
        f'<p style="text-align:right">{_zh_date(published)}</p>',
    ]
    page = _html_page(title, agency, published, body, encoding, None)
    return _encode(page, encoding)


# --------------------------------------------------------------------------------------------
# DOCX


def _normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so that identical content gives identical bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def render_docx(
    cells: dict[str, Any],
    *,
    agency: str | None = "示例市教育局",
    year: int | None = 2023,
    published: str | None = None,
    seed: int = 0,
    nested: str | None = None,
    bookmark: str | None = "t3.granted.total",
    vertical_text: bool = True,
) -> bytes:
    """A Word report: headings as bold paragraphs, tables with real merged cells (gridSpan/vMerge).

    ``nested``: 't2' | 't3' | 't4' puts that table inside a 1x1 outer table (a web page pasted
    into Word).  ``bookmark``: address of the value cell that gets a ``_GoBack`` bookmark before
    its number.  ``vertical_text``: 三、本年度办理结果 cell with textDirection tbRlV.
    """
    import datetime as _dt

    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    published = published or (f"{year + 1}-01-15" if year else "2024-01-15")
    d = docx.Document()
    normal = d.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋_GB2312")
    pub = _dt.datetime.fromisoformat(published)
    cp = d.core_properties
    cp.title = _title(agency, year)
    cp.author = "xxgk-factory"
    cp.last_modified_by = "xxgk-factory"
    cp.created = pub - _dt.timedelta(days=3)
    cp.modified = pub
    cp.revision = 3

    def para(text, bold=False, size=None, align=None, indent=True):
        p = d.add_paragraph()
        if indent and align is None:
            p.paragraph_format.first_line_indent = Pt(24)
        if align == "center":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif align == "right":
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = p.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        return p

    def fill(table, grid: Grid):
        placed = place(grid)
        for r, c, cell in placed:
            if cell.rowspan > 1 or cell.colspan > 1:
                table.cell(r, c).merge(table.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
        for r, c, cell in placed:
            tc = table.cell(r, c)
            tc.text = cell.text
            p = tc.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if cell.kind != "label" else WD_ALIGN_PARAGRAPH.LEFT
            for run in p.runs:
                run.font.size = Pt(9)
            if cell.vertical and vertical_text:
                td = OxmlElement("w:textDirection")
                td.set(qn("w:val"), "tbRlV")
                tc._tc.get_or_add_tcPr().append(td)
            if bookmark and cell.addr == bookmark and p.runs:
                bs = OxmlElement("w:bookmarkStart")
                bs.set(qn("w:id"), "0")
                bs.set(qn("w:name"), "_GoBack")
                be = OxmlElement("w:bookmarkEnd")
                be.set(qn("w:id"), "0")
                p.runs[0]._r.addprevious(bs)
                p.runs[0]._r.addprevious(be)

    def add_table(grid: Grid):
        if nested == grid.key:
            outer = d.add_table(rows=1, cols=1)
            outer.style = "Table Grid"
            holder = outer.cell(0, 0)
            holder.text = ""
            t = holder.add_table(len(grid.rows), grid.ncols)
        else:
            t = d.add_table(rows=len(grid.rows), cols=grid.ncols)
        t.style = "Table Grid"
        fill(t, grid)

    g = grids(cells)
    if agency is not None:
        para(agency, bold=True, size=18, align="center")
        para(f"{year}年政府信息公开工作年度报告", bold=True, size=18, align="center")
        para(_intro(agency, year))
        narr = narrative(cells, agency, year, seed)
    else:
        para(_title(None, None), bold=True, size=18, align="center")
        narr = {k: ["（文字描述）"] for k in ("overall", "problems", "other")} | {
            "t2": [],
            "t3": [],
            "t4": [],
        }
    for label, key in zip(SECTION_LABELS, ["overall", "t2", "t3", "t4", "problems", "other"], strict=True):
        para(label, bold=True)
        for p in narr[key]:
            para(p, bold=p.startswith("（") and len(p) < 16)
        if key in g:
            add_table(g[key])
    if agency is not None:
        para(agency, align="right")
        para(_zh_date(published), align="right")
    buf = io.BytesIO()
    d.save(buf)
    return _normalize_zip(buf.getvalue())


# --------------------------------------------------------------------------------------------
# PDF

PDF_FONT = "STSong-Light"
EMBEDDED_FONT = "XXGK-CJK"  # a CJK TrueType font embedded in the PDF (see _register_font)


def _register_font(font_file: str | None = None) -> str:
    """Register the PDF font and return its name.

    Without ``font_file``: the built-in CID font STSong-Light, which is *not* embedded (a viewer
    supplies the glyphs, so a renderer without CJK fonts draws no Chinese).  With ``font_file`` (a
    TrueType .ttf/.ttc): that font, embedded, so the page renders the same everywhere (the OCR
    tests rasterise such PDFs).
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if font_file is not None:
        from reportlab.pdfbase.ttfonts import TTFont

        if EMBEDDED_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, font_file, subfontIndex=0))
        return EMBEDDED_FONT
    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


def _scan_image(width: int = 620, height: int = 860, seed: int = 0):
    """A greyscale 'scanned page' (ruled boxes and text-like bars), without any text layer."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("L", (width, height), 246)
    dr = ImageDraw.Draw(img)
    y = 60
    while y < height - 80:
        if rng.random() < 0.25:
            x = 50
            for _ in range(rng.randint(4, 8)):
                w = rng.randint(40, 110)
                dr.rectangle([x, y, x + w, y + 26], outline=40)
                x += w
            y += 26
        else:
            dr.rectangle([70, y + 6, rng.randint(200, width - 60), y + 14], fill=120)
            y += 24
    dr.ellipse([width - 230, height - 230, width - 90, height - 90], outline=90, width=4)
    return img


_NO_LINE_START = set("，。、；：？！）》」”’%")


class _Pdf:
    def __init__(
        self,
        *,
        title: str,
        author: str,
        ruled: bool = True,
        encrypt: Any = None,
        margin: float = 72,
        font_size: float = 12,
        font_file: str | None = None,
    ):
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        self.font = _register_font(font_file)
        self.W, self.H = A4
        self.margin = margin
        self.bottom = 70
        self.ruled = ruled
        self.fs = font_size
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=A4, invariant=1, encrypt=encrypt, pageCompression=1)
        self.c.setTitle(title)
        self.c.setAuthor(author)
        self.c.setCreator("xxgk-factory")
        self.page = 1
        self.y = self.H - margin
        self.image_last = False

    @property
    def width(self) -> float:
        return self.W - 2 * self.margin

    def sw(self, text: str, size: float) -> float:
        from reportlab.pdfbase import pdfmetrics

        return pdfmetrics.stringWidth(text, self.font, size)

    def wrap(self, text: str, width: float, size: float, first_width: float | None = None) -> list[str]:
        lines, cur = [], ""
        w = first_width if first_width is not None else width
        for ch in text:
            if cur and self.sw(cur + ch, size) > w and ch not in _NO_LINE_START:
                lines.append(cur)
                cur, w = "", width
            cur += ch
        if cur or not lines:
            lines.append(cur)
        return lines

    def footer(self) -> None:
        self.c.setFont(self.font, 10.5)
        self.c.drawCentredString(self.W / 2, 40, f"- {self.page} -")

    def new_page(self) -> None:
        self.footer()
        self.c.showPage()
        self.page += 1
        self.y = self.H - self.margin

    def para(
        self,
        text: str,
        *,
        size: float | None = None,
        indent: int = 2,
        align: str = "left",
        space_after: float = 0,
    ) -> None:
        size = size or self.fs
        leading = size * 1.75
        first = self.width - indent * size
        for i, line in enumerate(self.wrap(text, self.width, size, first)):
            if self.y - leading < self.bottom:
                self.new_page()
            self.y -= leading
            self.c.setFont(self.font, size)
            if align == "center":
                self.c.drawCentredString(self.W / 2, self.y + size * 0.4, line)
            elif align == "right":
                self.c.drawRightString(self.W - self.margin, self.y + size * 0.4, line)
            else:
                x = self.margin + (indent * size if i == 0 else 0)
                self.c.drawString(x, self.y + size * 0.4, line)
        self.y -= space_after

    def image_page(self, seed: int = 0) -> None:
        """Finish the current page and add one that holds only an image (no text, no footer)."""
        from reportlab.lib.utils import ImageReader

        self.new_page()
        img = _scan_image(seed=seed)
        self.c.drawImage(ImageReader(img), 40, 40, self.W - 80, self.H - 80)
        self.image_last = True  # must be the last page: finish() adds no footer to it

    def table(
        self,
        grid: Grid,
        colw: list[float],
        *,
        size: float = 8.5,
        min_h: float = 17,
        split_after: str | None = None,
    ) -> None:
        placed = place(grid)
        n = len(grid.rows)
        xs = [self.margin]
        for w in colw:
            xs.append(xs[-1] + w)
        lead = size * 1.3

        def cell_w(c, cell):
            return xs[c + cell.colspan] - xs[c] - 4

        def lines_of(c, cell):
            if cell.vertical:
                return list(cell.text)
            return self.wrap(cell.text, cell_w(c, cell), size) if cell.text else []

        h = [min_h] * n
        for r, c, cell in placed:
            need = len(lines_of(c, cell)) * lead + 6
            if cell.rowspan == 1:
                h[r] = max(h[r], need)
        for r, c, cell in placed:
            if cell.rowspan > 1:
                need = len(lines_of(c, cell)) * lead + 6
                have = sum(h[r : r + cell.rowspan])
                if need > have:
                    h[r + cell.rowspan - 1] += need - have
        # segments (page breaks between rows)
        header_rows = {"t3": 3, "t4": 3}.get(grid.key, 1)
        if self.y - sum(h[: header_rows + 2]) < self.bottom:
            self.new_page()  # not even the header and two rows fit: start the table on a new page
        segs: list[tuple[int, int]] = []
        start, y = 0, self.y
        for r in range(n):
            forced = split_after is not None and r > 0 and grid.row_keys[r - 1] == split_after
            if (y - h[r] < self.bottom or forced) and r > start:
                segs.append((start, r))
                start, y = r, self.H - self.margin
            y -= h[r]
        segs.append((start, n))
        # the segment where each spanning cell prints its text: the one holding most of its height
        main: dict[int, int] = {}
        for i, (r, _c, cell) in enumerate(placed):
            best, best_h = 0, -1.0
            for si, (s0, s1) in enumerate(segs):
                part = sum(h[max(r, s0) : min(r + cell.rowspan, s1)])
                if part > best_h:
                    best, best_h = si, part
            main[i] = best
        for si, (s0, s1) in enumerate(segs):
            if si > 0:
                self.new_page()
            tops = {s0: self.y}
            for r in range(s0, s1):
                tops[r + 1] = tops[r] - h[r]
            edges: set[tuple[float, float, float, float]] = set()
            for i, (r, c, cell) in enumerate(placed):
                a, b = max(r, s0), min(r + cell.rowspan, s1)
                if a >= b:
                    continue
                x0, x1 = xs[c], xs[c + cell.colspan]
                top, bot = tops[a], tops[b]
                if self.ruled:
                    x0r, x1r, tr, br = (round(v, 2) for v in (x0, x1, top, bot))
                    edges |= {(x0r, tr, x1r, tr), (x0r, br, x1r, br), (x0r, br, x0r, tr), (x1r, br, x1r, tr)}
                if main[i] != si or not cell.text:
                    continue
                lines = lines_of(c, cell)
                self.c.setFont(self.font, size)
                block = len(lines) * lead
                ty = (top + bot) / 2 + block / 2 - size
                for line in lines:
                    if cell.kind == "label":
                        self.c.drawString(x0 + 2, ty, line)
                    else:
                        self.c.drawCentredString((x0 + x1) / 2, ty, line)
                    ty -= lead
            if edges:
                self.c.setLineWidth(0.6)
                self.c.lines(sorted(edges))
            self.y = tops[s1] - 6

    def finish(self) -> bytes:
        if not self.image_last:
            self.footer()
        self.c.showPage()
        self.c.save()
        return self.buf.getvalue()


def render_pdf(
    cells: dict[str, Any],
    *,
    agency: str | None = "示例县人民政府",
    year: int | None = 2023,
    published: str | None = None,
    seed: int = 0,
    ruled: bool = True,
    split_after: str | None = "unable_need_creation",
    image_page: bool = False,
    encrypt: Any = None,
    font_file: str | None = None,
) -> bytes:
    """A PDF report (reportlab, built-in CID font STSong-Light, A4, page footers '- n -').

    Tables are drawn cell by cell (ruled with lines unless ``ruled=False``).  表三 is split across
    two pages after the row ``split_after`` (and wherever it does not fit), so a footer '- n -'
    lies between its rows; the merged 三、本年度办理结果 cell is drawn on both pages, its label
    printed vertically (one character per line) on the part holding most of it.  ``image_page``
    appends a page that is only an image (no text).  ``encrypt``: passed to reportlab (a password
    string or a StandardEncryption).  ``font_file``: a CJK TrueType font to embed instead of
    STSong-Light (for PDFs that are rasterised).
    """
    published = published or (f"{year + 1}-01-15" if year else "2024-01-15")
    title = _title(agency, year)
    pdf = _Pdf(title=title, author=agency or "xxgk-factory", ruled=ruled, encrypt=encrypt, font_file=font_file)
    g = grids(cells)
    if agency is not None:
        pdf.para(agency, size=18, align="center", indent=0)
        pdf.para(f"{year}年政府信息公开工作年度报告", size=18, align="center", indent=0, space_after=10)
        pdf.para(_intro(agency, year))
        narr = narrative(cells, agency, year, seed)
    else:
        pdf.para(title, size=18, align="center", indent=0, space_after=10)
        narr = {k: ["（文字描述）"] for k in ("overall", "problems", "other")} | {
            "t2": [],
            "t3": [],
            "t4": [],
        }
    w = pdf.width
    colw = {
        "t2": [w * 0.31] + [w * 0.23] * 3,
        "t3": [24, 62, 132] + [(w - 218) / 7] * 7,
        "t4": [w / 15] * 15,
    }
    for label, key in zip(SECTION_LABELS, ["overall", "t2", "t3", "t4", "problems", "other"], strict=True):
        pdf.para(label, indent=2)
        for p in narr[key]:
            pdf.para(p)
        if key in g:
            pdf.table(g[key], colw[key], split_after=split_after if key == "t3" else None)
    if agency is not None:
        pdf.y -= 12
        pdf.para(agency, align="right", indent=0)
        pdf.para(_zh_date(published), align="right", indent=0)
    if image_page:
        pdf.image_page(seed)
    return pdf.finish()


# --------------------------------------------------------------------------------------------
# unreadable files and special documents


def empty_bytes() -> bytes:
    return b""


def random_bytes(n: int = 4096, seed: int = 0) -> bytes:
    """Noise that is no known format (never starts with a magic number of pdf/zip/html)."""
    data = bytearray(random.Random(seed).randbytes(n))
    data[:4] = b"\x8a\x13\xee\x07"
    return bytes(data)


def truncated_pdf(cells: dict[str, Any] | None = None, fraction: float = 0.4, **kw: Any) -> bytes:
    """The first ``fraction`` of a valid PDF (starts with %PDF-, no xref/trailer/%%EOF)."""
    data = render_pdf(cells or make_cells(), **kw)
    return data[: int(len(data) * fraction)]


def encrypted_pdf(cells: dict[str, Any] | None = None, user_password: str = "xxgk-secret", **kw: Any) -> bytes:
    """A report PDF encrypted with a user password (cannot be opened without it)."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    enc = StandardEncryption(user_password, ownerPassword="owner-" + user_password, canPrint=0, canCopy=0, strength=128)
    return render_pdf(cells or make_cells(), encrypt=enc, **kw)


def image_only_pdf(pages: int = 2, seed: int = 0) -> bytes:
    """A scanned report: every page is an image, there is no text layer at all."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    W, H = A4
    for i in range(pages):
        c.drawImage(ImageReader(_scan_image(seed=seed + i)), 30, 30, W - 60, H - 60)
        c.showPage()
    c.save()
    return buf.getvalue()


def render_blank_template(fmt: str = "docx", template: str = "gov2021") -> bytes:
    """The blank format itself: all labels, no numbers, no agency/year; narrative '（文字描述）'."""
    cells = blank_cells(template)
    fn = {"docx": render_docx, "html": render_html, "pdf": render_pdf, "text": render_text}[fmt]
    kw: dict[str, Any] = {"agency": None, "year": None}
    if fmt == "docx":
        kw["bookmark"] = None
    if fmt == "text":
        kw["quirks"] = False
    return fn(cells, **kw)


RENDERERS = {"text": render_text, "html": render_html, "docx": render_docx, "pdf": render_pdf}


def render(facts: dict[str, Any], fmt: str, **opts: Any) -> bytes:
    """Render a facts dict (make_facts) in ``fmt`` (text | html | docx | pdf)."""
    kw = {
        "agency": facts["agency"],
        "year": facts["year"],
        "published": facts["published"],
        "seed": facts.get("seed", 0),
    }
    return RENDERERS[fmt](facts["cells"], **kw, **opts)


def sniff(data: bytes) -> str:
    """Format by magic bytes: pdf | docx | zip | html | text | empty | unknown."""
    if not data:
        return "empty"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "zip"
        return "docx" if "word/document.xml" in names else "zip"
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "text" if b"\x00" not in data else "unknown"


# --------------------------------------------------------------------------------------------
# the bundled samples


@dataclass
class Sample:
    file: str
    fmt: str
    facts: dict[str, Any] | None  # None: not a statutory report
    opts: dict[str, Any]
    quirks: list[str]
    agency: str | None
    year: int | None
    published: str
    notes: str = ""
    known_publisher_errors: list[str] = field(default_factory=list)


def sample_specs() -> list[Sample]:
    """The demo set written to sources/samples (facts are built here, never parsed)."""
    specs: list[Sample] = []

    f = make_facts(
        "示例市人力资源和社会保障局",
        2023,
        seed=101,
        published="2024-01-16",
        requests=14,
        fee=18.45,
        review=(1, 0, 0, 1),
        litigation_direct=(0, 0, 0, 0),
        litigation_after_review=(0, 0, 0, 0),
    )
    specs.append(
        Sample(
            "rsj-2023.txt",
            "text",
            f,
            {"quirks": True, "layout": "rows"},
            [
                "plain text as extracted from a PDF/DOCX: one table row per line, tab-separated, every grid "
                "position a cell (merged spans give empty cells)",
                f"'[bookmark: _GoBack]' glued before the 10th number of the 表四 row ({TEXT_QUIRKS['bookmark']})",
                "U+3000 ideographic spaces before " + " and ".join(TEXT_QUIRKS["ideographic_space"]),
                "full-width digits in " + ", ".join(TEXT_QUIRKS["fullwidth_digits"]),
                f"label of row {TEXT_QUIRKS['wrap_row']} （五）5 wrapped over two lines; the numbers are on "
                "the second line",
                "表四 header labels with a space inside ('结果 维持')",
            ],
            f["agency"],
            2023,
            f["published"],
        )
    )

    f = make_facts(
        "示例县自然资源局",
        2023,
        seed=202,
        published="2024-01-19",
        requests=9,
        fee=0,
        review=(0, 0, 0, 0),
        litigation_direct=(1, 0, 0, 0),
        litigation_after_review=(0, 0, 0, 0),
    )
    specs.append(
        Sample(
            "zrzyj-2023.html",
            "html",
            f,
            {"encoding": "utf-8"},
            [
                "UTF-8 article page of a government site: navigation,"
                " breadcrumb, '发布日期：' info bar, related-links "
                "list naming the two previous years' reports, footer",
                "tables are HTML tables with rowspan/colspan exactly as the statutory layout; values inside <p><span>",
                "'&nbsp;' around t3.new_received.total; '<br/>' inside 4-character header labels (结果<br/>维持)",
            ],
            f["agency"],
            2023,
            f["published"],
        )
    )

    f = make_facts(
        "示例区市场监督管理局",
        2022,
        seed=303,
        published="2023-01-30",
        requests=37,
        fee=2.615,
        review=(2, 1, 0, 0),
        litigation_direct=(1, 0, 0, 1),
        litigation_after_review=(0, 0, 0, 0),
    )
    specs.append(
        Sample(
            "scjgj-2022-gbk.html",
            "html",
            f,
            {"encoding": "gbk", "single_table": True},
            [
                "GBK-encoded page (<meta http-equiv=Content-Type ... charset=gbk>)",
                "表二, 表三 and 表四 are one single <table>; the "
                "headings 三、… and 四、… are full-width rows inside it",
                "fee with three decimals (2.615 万元)",
            ],
            f["agency"],
            2022,
            f["published"],
        )
    )

    f = make_facts(
        "示例市教育局",
        2023,
        seed=404,
        published="2024-01-25",
        single_other=True,
        requests=22,
        fee=0,
        review=(1, 0, 1, 0),
        litigation_direct=(0, 0, 0, 0),
        litigation_after_review=(0, 0, 0, 0),
    )
    specs.append(
        Sample(
            "jyj-2023.docx",
            "docx",
            f,
            {"nested": "t4", "bookmark": "t3.granted.total"},
            [
                "Word file with real merged cells (gridSpan / vMerge)",
                "hybrid template: 2021 labels but a single "
                "'（六）其他处理' row (address t3.other_handling.*, no "
                "other_no_correction_overdue / other_fee_unpaid_overdue / other_misc)",
                "表四 is nested inside a 1x1 outer table",
                "a _GoBack bookmark before the number of t3.granted.total",
                "三、本年度办理结果 cell with vertical text direction (tbRlV)",
            ],
            f["agency"],
            2023,
            f["published"],
        )
    )

    f = make_facts(
        "示例县人民政府",
        2023,
        seed=505,
        published="2024-03-28",
        requests=26,
        fee=316.08,
        review=(6, 1, 0, 1),
        litigation_direct=(2, 0, 0, 1),
        litigation_after_review=(1, 0, 0, 0),
    )
    f["cells"] = break_t4_total(f["cells"], "review", parts=None, printed_total=0)
    specs.append(
        Sample(
            "xzf-2023.pdf",
            "pdf",
            f,
            {"ruled": True, "split_after": "unable_need_creation"},
            [
                "PDF (reportlab, CID font STSong-Light, A4) with ruled tables drawn line by line",
                "表三 split across two pages after row （四）2 "
                "(unable_need_creation); the page footer '- n -' lies "
                "between its rows",
                "三、本年度办理结果 printed vertically, one character per line; long labels wrapped inside their cells",
                "GENUINE-LOOKING PUBLISHER ERROR: 表四 "
                "行政复议 printed 维持6 纠正1 其他0 尚未审结1 but 总计 0 "
                "(cells record the printed 0; the narrative says 行政复议8件 = the sum of the parts)",
            ],
            f["agency"],
            2023,
            f["published"],
            known_publisher_errors=["table4 行政复议: 维持+纠正+其他+尚未审结 = 8 but printed 总计 = 0"],
        )
    )

    f = make_facts(
        "示例市交通运输局",
        2020,
        "gov2019",
        seed=606,
        published="2021-01-22",
        requests=11,
        review=(0, 0, 0, 0),
        litigation_direct=(0, 0, 0, 0),
        litigation_after_review=(0, 0, 0, 0),
    )
    # show both signs of 本年增/减
    f["cells"] = set_cells(f["cells"], t2_art20_5__admin_licensing__change=5)
    specs.append(
        Sample(
            "jtysj-2020-gov2019.html",
            "html",
            f,
            {"encoding": "utf-8"},
            [
                "2019 (试行) template: "
                "本年新制作数量/本年新公开数量/对外公开总数量; 上一年项目数量/本年增/减/"
                "处理决定数量; 第二十条第（九）项 政府集中采购 采购项目数量/采购总金额",
                "本年增/减 printed signed ('+3', '-2', '0')",
                "采购总金额 printed in 元 with the unit ('1234567.89元'); expected.json holds 万元",
                "single （六）其他处理 row",
            ],
            f["agency"],
            2020,
            f["published"],
        )
    )

    specs.append(
        Sample(
            "notice-2024.html",
            "html",
            None,
            {"agency": "示例市人力资源和社会保障局", "published": "2024-03-12"},
            [
                "not a statutory report: an unrelated notice "
                "(就业见习基地名单) on the same kind of site, with a "
                "numeric table and '政府信息公开' in the navigation"
            ],
            None,
            None,
            "2024-03-12",
            notes="Not a statutory report (a notice published by 示例市人力资源和社会保障局): must give "
            "template null and no cells; agency and year are null (no report agency, no report year).",
        )
    )
    return specs


def render_sample(s: Sample) -> bytes:
    if s.facts is None:
        return render_notice_html(**s.opts)
    return render(s.facts, s.fmt, **s.opts)


def expected_entry(s: Sample) -> dict[str, Any]:
    f = s.facts
    return {
        "document": s.file,
        "agency": s.agency,
        "year": s.year,
        "template": f["template"] if f else None,
        "single_other_row": bool(f and f["single_other"]),
        "format": s.fmt,
        "published": s.published,
        "quirks": s.quirks,
        "notes": s.notes,
        "known_publisher_errors": s.known_publisher_errors,
        "cells": dict(f["cells"]) if f else {},
    }


def _key_facts(cells: dict[str, Any]) -> str:
    if not cells:
        return "—"
    n = _req_numbers(cells)
    t = lambda a: fmt_value(a, cells.get(a))  # noqa: E731
    template, _ = detect_template(cells)
    parts = [
        f"表三 新收 {n['new']}, 上年结转 {n['carried']}, （七）总计 {n['handled']}, 结转下年度 {n['carry_next']}",
        f"予以公开 {n['granted']}, 部分公开 {n['partially']}",
        "表四 " + " ".join(t(f"t4.{b}.total") for b in T4_BLOCKS) + " (总计 of 复议/直接起诉/复议后起诉)",
    ]
    if template == "gov2021":
        parts.append(
            f"收费 {t('t2_art20_8.admin_fees.fee_amount')} 万元, 行政许可 "
            f"{t('t2_art20_5.admin_licensing.decisions')}, 行政处罚 {t('t2_art20_6.admin_penalty.decisions')}"
        )
    else:
        parts.append(
            f"采购 {t('t2_art20_9.central_procurement.procurement_projects')} 项 "
            f"{t('t2_art20_9.central_procurement.procurement_amount')}, 规范性文件新制作 "
            f"{t('t2_art20_1.normative_documents.newly_made')}"
        )
    return "; ".join(parts)


def samples_readme(specs: list[Sample], sizes: dict[str, int]) -> str:
    lines = [
        "# Bundled sample reports",
        "",
        "Synthetic 政府信息公开工作年度报告 of **invented** agencies (示例市/县/区 …), generated by",
        "`python tests/factory.py --write-samples` from facts dicts (tests/factory.py `sample_specs()`).",
        "The narrative sentences are invented; only the statutory table labels are real.",
        "`expected.json` holds, for every file, the template and every cell value *as printed*",
        "(amounts in 万元), produced from the facts — never by running the parser.",
        "",
        "| file | format | agency / year | template | quirks |",
        "|---|---|---|---|---|",
    ]
    for s in specs:
        tpl = s.facts["template"] if s.facts else "none"
        if s.facts and s.facts["single_other"]:
            tpl += " (single （六） row)"
        lines.append(
            f"| `{s.file}` ({sizes[s.file] // 1024 or 1} KB) | "
            f"{s.fmt} | {s.agency} / {s.year or '—'} | {tpl} | " + "; ".join(s.quirks).replace("|", "/") + " |"
        )
    lines += ["", "## Facts printed in each file", ""]
    for s in specs:
        lines.append(
            f"- `{s.file}` — published {s.published}. "
            + (_key_facts(s.facts["cells"]) if s.facts else "no statutory facts (template null, no cells)")
            + (". Publisher error: " + "; ".join(s.known_publisher_errors) if s.known_publisher_errors else "")
        )
    lines += [
        "",
        "## Conventions",
        "",
        "- Addresses as in sources/template/templates.yaml (`t3.new_received.natural_person`, `t4.review.total`, …).",
        "- Every report states `全年共收到政府信息公开申请N件` (N = t3.new_received.total; `全年未收到…` when 0)",
        "  in 一（二）, the statistical period `统计期限为YYYY年1月1日至YYYY年12月31日`, and its publication date",
        "  (`发布日期：YYYY-MM-DD` on HTML pages and `YYYY年M月D日` under the signature at the end).",
        "- Sections 三 and 四 also state the outcome counts by group (予以公开/部分公开/不予公开/无法提供/不予处理/",
        "  其他处理 N件, 结转下年度继续办理N件) and `行政复议N件` / `行政诉讼N件`, computed from the 表四 parts;",
        "  the single-table GBK page has no such sentences (its headings 三/四 are rows inside the table).",
        "- The hybrid file uses address `t3.other_handling.*` with template `gov2021` (like the real hongzequ-2023).",
        "",
    ]
    return "\n".join(lines)


def write_samples(out: Path = SAMPLES_DIR) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    specs = sample_specs()
    sizes: dict[str, int] = {}
    expected: dict[str, Any] = {}
    for s in specs:
        data = render_sample(s)
        (out / s.file).write_bytes(data)
        sizes[s.file] = len(data)
        expected[s.file] = expected_entry(s)
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "README.md").write_text(samples_readme(specs, sizes), encoding="utf-8")
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-samples", action="store_true", help="write sources/samples/*")
    ap.add_argument("--out", type=Path, default=SAMPLES_DIR)
    args = ap.parse_args(argv)
    if not args.write_samples:
        ap.print_help()
        return 0
    sizes = write_samples(args.out)
    for name, n in sizes.items():
        print(f"{n:>8}  {name}")
    total = sum(sizes.values())
    print(f"{total:>8}  total (+ expected.json, README.md)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
