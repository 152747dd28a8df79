"""The statutory consistency rules, declared once: templates.yaml ``rules:`` expanded into rule instances.

Every rule of a report is reduced to one shape, a *rule instance*: ``lhs <op> rhs`` where each side
is a signed sum of *facts* (template cells such as ``t3.new_received.total``, or derived facts such
as ``meta.present.t4``), optionally of the previous year's report (``scope="prev"``).  The same
instances drive

* the pure Python evaluator here (:func:`evaluate`, parse-time use and the Chinese messages),
* the rule tables the warehouse loads into DuckDB (``ref.rule_instances`` / ``ref.rule_terms``)
  from which the SQL check view computes ``lhs``/``rhs`` per report version, and
* the Great Expectations suite (one set of expectations per rule id, see ``expectations/``).

Grain: one :class:`RuleInstance` per template variant × rule id × instance (a column, a row, a
block, a cell or a section).  Variants are ``gov2021``, ``gov2019`` and ``gov2021_hybrid`` (a 2021
report printing the old single （六）其他处理 row, so ``T3_RESULT_SUM_2021`` sums ``other_handling``).

Severities follow templates.yaml except where issue #3 decides otherwise (:data:`SEVERITY_OVERRIDES`):
completeness (tables, cells, sections, template/year) blocks promotion, while the cross-year
carry-over ``XY_T3_CARRY`` is a non-blocking warning on every column.  An error-level instance that
cannot be assessed (a cell MISSING or TEXT, a blank 总计) blocks promotion like a failure.

Blank cells (``templates.yaml`` D04/D05): a blank or ``/`` *component* counts as 0, but a blank or
``/`` *total* (表三 总计 column or （七）总计 row, 表四 总计) means "not filled in" — the instance is
``not_assessable``, never computed with 0.

No I/O except reading the packaged templates.yaml once (through :mod:`sources.template`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any, Literal

from sources.template import TABLE_NAMES, Template, load_template, raw_spec

Severity = Literal["error", "warning", "info"]
Outcome = Literal["pass", "fail", "not_assessable"]

VARIANTS = ("gov2021", "gov2021_hybrid", "gov2019")
# China Standard Time: deadlines and "today" are dates in China.
CHINA_TZ = timezone(timedelta(hours=8))
# The 2019 single row （六）其他处理 that a hybrid 2021 report prints instead of its three sub-rows.
HYBRID_ROW = "other_handling"
TOLERANCE = 1e-6

# Where issue #3 and the severities of templates.yaml differ, the issue decides.
SEVERITY_OVERRIDES: dict[str, Severity] = {
    "XY_T3_CARRY": "warning",  # either of the two years may hold the mistake: report, don't block
    "T4_PRESENT": "error",  # a missing table blocks promotion
    "S_SIX_SECTIONS": "error",  # completeness: the six sections
    "S_TEMPLATE_VS_YEAR": "error",  # the template must match the report year
    "S_DEADLINE": "warning",  # the 31 January deadline is reported, not blocking
}

# Rules the project adds to templates.yaml (same naming scheme); severity and Chinese title.
PROJECT_RULES: dict[str, tuple[Severity, str]] = {
    "S_IDENTITY": ("error", "发布机关和报告年度可识别"),
    "T2_PRESENT": ("error", "表二存在"),
    "T3_PRESENT": ("error", "表三存在"),
    "S_CELLS_COMPLETE": ("error", "模板的每个单元格都已读取（或由版式变体说明）"),
    "T2_TYPES_2019": ("error", "表二（2019 试行格式）计数为整数、金额为非负数"),
}

# Short Chinese titles of every rule id (templates.yaml ids and the project's additions above).
RULE_TITLES: dict[str, str] = {
    "T3_BALANCE": "表三 一+二 = 三（七）总计 + 四（每列）",
    "T3_RESULT_SUM_2021": "表三 （七）总计 = 各项办理结果之和（2021 格式）",
    "T3_RESULT_SUM_2019": "表三 （七）总计 = 各项办理结果之和（2019 试行格式）",
    "T3_ROW_TOTAL": "表三 每行 总计 = 六类申请人之和",
    "T3_TYPES": "表三 单元格为非负整数",
    "T4_BLOCK_TOTAL": "表四 总计 = 维持+纠正+其他+尚未审结（每块）",
    "T4_TYPES": "表四 单元格为非负整数",
    "T4_PRESENT": "表四存在",
    "T2_TYPES_2021": "表二 计数为非负整数、收费金额为非负数",
    "T2_ISSUED_VS_INFORCE": "表二 本年制发件数 ≤ 现行有效件数 + 本年废止件数",
    "T2_2019_PUBLISHED_LE_TOTAL": "表二 本年新公开数量 ≤ 对外公开总数量",
    "T2_2019_ITEMS_NONNEG": "表二 上一年项目数量 + 本年增/减 ≥ 0",
    "XY_T3_CARRY": "跨年度 上年结转 = 上年报告 结转下年度继续办理（每列）",
    "XY_T2_INFORCE": "跨年度 现行有效件数 = 上年现行有效件数 + 本年制发 − 本年废止",
    "XY_T2_2019_ITEMS": "跨年度 上一年项目数量 = 上年报告 上一年项目数量 + 本年增/减",
    "N_REQUESTS_RECEIVED": "正文“收到申请N件” = 表三 本年新收（或新收+上年结转）",
    "N_ZERO_REQUESTS": "正文“未收到申请” ⇒ 表三 本年新收为 0",
    "N_REVIEW_LITIGATION": "正文行政复议、行政诉讼件数 = 表四 总计",
    "S_SIX_SECTIONS": "六个部分齐全",
    "S_TEMPLATE_VS_YEAR": "格式与报告年度相符",
    "S_DEADLINE": "按期发布（次年1月31日，本级政府3月31日）",
    **{k: v[1] for k, v in PROJECT_RULES.items()},
}

# Arithmetic rules of templates.yaml that are expanded from their ``expr``.
ARITHMETIC_RULES = (
    "T3_BALANCE",
    "T3_RESULT_SUM_2021",
    "T3_RESULT_SUM_2019",
    "T3_ROW_TOTAL",
    "T4_BLOCK_TOTAL",
    "T2_ISSUED_VS_INFORCE",
    "T2_2019_PUBLISHED_LE_TOTAL",
    "T2_2019_ITEMS_NONNEG",
    "XY_T3_CARRY",
    "XY_T2_INFORCE",
    "XY_T2_2019_ITEMS",
)

# Short row labels for messages ("本年新收(21)+上年结转(0) ≠ 办理结果总计(20)+结转下年度(0)").
T3_SHORT_ROWS = {
    "new_received": "本年新收",
    "carried_over": "上年结转",
    "partially_granted": "部分公开",
    "other_handling": "其他处理",
    "other_no_correction_overdue": "逾期不补正",
    "other_fee_unpaid_overdue": "逾期未缴费",
    "other_misc": "其他处理·其他",
    "result_total": "办理结果总计",
    "carry_to_next": "结转下年度",
}
T3_COLUMN_NAMES = {"legal_other": "其他（法人或其他组织）"}
EDITIONS = {"gov2021": 2021, "gov2019": 2019}


# ------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class CellSpec:
    """One template cell of a variant, with the labels of its printed position.

    ``table`` is the statutory table (t2/t3/t4), ``subtable`` the table id of the address
    (``t2_art20_1`` … ``t3``, ``t4``); orders are 1-based in printed order.
    """

    address: str
    table: str
    subtable: str
    subtable_title: str
    row_key: str
    row_label: str
    row_short: str
    row_order: int
    col_key: str
    col_label: str
    col_order: int
    value_type: str
    is_total: bool


@dataclass(frozen=True)
class Term:
    """One summand of a rule side: ``coef × fact`` (or a constant when ``address`` is None)."""

    address: str | None
    coef: int = 1
    scope: Literal["this", "prev"] = "this"
    const: float | None = None
    label: str = ""
    is_total: bool = False


@dataclass(frozen=True)
class RuleInstance:
    """One checkable statement ``lhs <op> rhs`` of one rule for one variant.

    ``op``: eq | le | ge (sides compared), nonneg_int | nonneg | int (single-cell type rules).
    ``rhs_alt``: an accepted alternative right side (narrative counts may include carried-over).
    ``guard``: when the instance applies at all — ``always``; ``content`` (the cell carries a
    number or text); ``prev`` (a previous-year report exists, of ``prev_edition`` if set);
    ``lhs_present`` (the left-side facts exist, e.g. a publication date or a narrative figure).
    ``style`` selects the message wording.
    """

    rule_id: str
    instance: str
    variant: str
    severity: Severity
    op: str
    lhs: tuple[Term, ...]
    rhs: tuple[Term, ...] = ()
    rhs_alt: tuple[Term, ...] = ()
    guard: str = "always"
    prev_edition: int | None = None
    subject: str = ""
    style: str = "arith"

    @property
    def blocking(self) -> bool:
        """Error-level instances block promotion when they fail or cannot be assessed."""
        return self.severity == "error"

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.instance)


@dataclass(frozen=True)
class Fact:
    """A value a rule can read: a template cell or a derived fact (``meta.*``, ``narr.*``)."""

    value: float | None
    semantic: str = "NUMBER"
    raw: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rule instance on one report: values of both sides and a Chinese message."""

    rule_id: str
    instance: str
    severity: Severity
    blocking: bool
    outcome: Outcome
    lhs: float | None
    rhs: float | None
    message: str


# ------------------------------------------------------------------------------------------ YAML


@functools.cache
def yaml_rules() -> dict[str, dict[str, Any]]:
    """The ``rules:`` entries of templates.yaml by id."""
    return {r["id"]: r for r in raw_spec()["rules"]}


def severity_of(rule_id: str) -> Severity:
    """Effective severity: issue #3 overrides, then the project's rules, then templates.yaml."""
    if rule_id in SEVERITY_OVERRIDES:
        return SEVERITY_OVERRIDES[rule_id]
    if rule_id in PROJECT_RULES:
        return PROJECT_RULES[rule_id][0]
    return yaml_rules()[rule_id]["severity"]


def template_of_variant(variant: str) -> str:
    return "gov2019" if variant == "gov2019" else "gov2021"


@functools.cache
def hybrid_split_rows() -> tuple[str, ...]:
    """The 2021 表三 rows a hybrid report replaces by :data:`HYBRID_ROW`: its children in the template model."""
    return tuple(r.key for r in load_template("gov2021").table("t3").data_rows if r.group == HYBRID_ROW)


def variant_of(template: str | None, addresses: Iterable[str]) -> str | None:
    """The variant of a parsed report: gov2021 with a printed single （六） row is ``gov2021_hybrid``."""
    if template is None:
        return None
    if template == "gov2021" and any(a.startswith(f"t3.{HYBRID_ROW}.") for a in addresses):
        return "gov2021_hybrid"
    return template


def expected_edition(year: int | None) -> int | None:
    """The template edition a report of ``year`` must use: 2021 (≥2021), 2019 (2019–2020), 0 (older)."""
    if year is None:
        return None
    # EDITIONS: each template's first report year (gov2021 → 2021, gov2019 → 2019)
    return max((e for e in EDITIONS.values() if year >= e), default=0)


_PAREN = re.compile(r"[（(][^（）()]*[）)]")


def agency_key(agency: str | None) -> str | None:
    """The agency identity across years: NFKC, whitespace and parenthesised notes removed.

    "平潭综合实验区（管委会办公室编制，全区汇总）" and "平潭综合实验区（区管委会办公室编制，全区汇总）"
    are the same body.
    """
    if not agency:
        return None
    text = unicodedata.normalize("NFKC", agency)
    text = re.sub(r"\s+", "", text)
    previous = None
    while previous != text:
        previous, text = text, _PAREN.sub("", text)
    return text or None


_OWN_REPORT_SUFFIXES = (
    "人民政府",
    "管委会",
    "管理委员会",
    "省",
    "市",
    "区",
    "县",
    "自治州",
    "盟",
    "旗",
    "镇",
    "乡",
    "街道",
)


def publication_deadline(agency: str | None, year: int | None) -> date | None:
    """条例第四十九条: departments publish by 31 January of the next year; a people's government's own
    (本级政府) report — the agency is a government or an area (…人民政府, …管委会, …区, …县) — by 31 March."""
    if year is None:
        return None
    key = agency_key(agency) or ""
    if key.endswith(_OWN_REPORT_SUFFIXES):
        return date(year + 1, 3, 31)
    return date(year + 1, 1, 31)


def date_number(value: date | str | None) -> int | None:
    """A date as the integer yyyymmdd (comparable and readable in messages)."""
    if value is None:
        return None
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return d.year * 10000 + d.month * 100 + d.day


def _number_date(n: float) -> str:
    n = int(n)
    return f"{n // 10000:04d}-{n // 100 % 100:02d}-{n % 100:02d}"


# ------------------------------------------------------------------------------------------ cells


def _strip_enum(label: str) -> str:
    return re.sub(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+\.)", "", label)


def _t3_short(row_key: str, label: str) -> str:
    if row_key in T3_SHORT_ROWS:
        return T3_SHORT_ROWS[row_key]
    return re.sub(r"（.*?）$", "", _strip_enum(label))


@functools.cache
def t4_block_names() -> dict[str, str]:
    """表四 block key → its name in messages: the row label under its printed header group
    (行政复议, 行政诉讼（未经复议直接起诉）, 行政诉讼（复议后起诉）)."""
    t4 = load_template("gov2021").table("t4")
    return {r.key: f"{r.header_group}（{r.label}）" if r.header_group else r.label for r in t4.rows}


def t3_short_label(row_key: str, template: str = "gov2021") -> str:
    """The short name of a 表三 row for messages and charts (本年新收, 予以公开, 不予处理 …)."""
    return _t3_short(row_key, load_template(template).table("t3").row(row_key).label)


@functools.cache
def cell_specs(variant: str) -> tuple[CellSpec, ...]:
    """Every template cell of ``variant`` in printed order (200 gov2021, 186 hybrid, 198 gov2019)."""
    template = load_template(template_of_variant(variant))
    out: list[CellSpec] = []
    for table in template.tables:
        rows = list(table.data_rows)
        if variant == "gov2021_hybrid" and table.id == "t3":
            split = hybrid_split_rows()
            at = next(i for i, r in enumerate(rows) if r.key == split[0])
            rows = [r for r in rows if r.key not in split]
            rows.insert(at, table.row(HYBRID_ROW))
        for r_order, row in enumerate(rows, start=1):
            for c_order, col in enumerate(table.columns, start=1):
                if table.kind == "t3":
                    row_short = _t3_short(row.key, row.label)
                elif table.kind == "t4":
                    row_short = t4_block_names().get(row.key, row.label)
                else:
                    row_short = row.label
                out.append(
                    CellSpec(
                        address=f"{table.id}.{row.key}.{col.key}",
                        table=table.kind,
                        subtable=table.id,
                        subtable_title=table.title,
                        row_key=row.key,
                        row_label=row.label,
                        row_short=row_short,
                        row_order=r_order,
                        col_key=col.key,
                        col_label=col.label,
                        col_order=c_order,
                        value_type=col.value_type,
                        is_total=_is_total(table.kind, row.key, col.key),
                    )
                )
    return tuple(out)


@functools.cache
def cell_index(variant: str) -> dict[str, CellSpec]:
    return {c.address: c for c in cell_specs(variant)}


def _is_total(kind: str, row_key: str, col_key: str) -> bool:
    """A printed total: 表三 总计 column or （七）总计 row, 表四 总计 — blank means "not filled in"."""
    if kind == "t3":
        return col_key == "total" or row_key == "result_total"
    return kind == "t4" and col_key == "total"


def _t3_column_name(col_key: str, label: str) -> str:
    return T3_COLUMN_NAMES.get(col_key, label)


# ------------------------------------------------------------------------------------------ expansion

_SIDE_SPLIT = re.compile(r"\s*(==|<=|>=)\s*")
_TERM = re.compile(r"([+-])?\s*(prev\.)?([A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?)")
_OPS = {"==": "eq", "<=": "le", ">=": "ge"}


def _parse_side(text: str) -> list[tuple[int, str, str | None, float | None]]:
    """``a + prev.b - 3`` → [(coef, scope, address, const), …]."""
    out: list[tuple[int, str, str | None, float | None]] = []
    for m in _TERM.finditer(text.replace("−", "-")):
        coef = -1 if m.group(1) == "-" else 1
        scope = "prev" if m.group(2) else "this"
        token = m.group(3)
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            out.append((coef, scope, None, float(token)))
        else:
            out.append((coef, scope, token, None))
    return out


def _for_each_values(rule: dict[str, Any], variant: str) -> tuple[str | None, list[str]]:
    spec = rule.get("for_each") or {}
    if not spec:
        return None, [""]
    (var, values), *_ = spec.items()
    if values == "<all data rows of t3>":
        seen: list[str] = []
        for c in cell_specs(variant):
            if c.subtable == "t3" and c.row_key not in seen:
                seen.append(c.row_key)
        return var, seen
    return var, list(values)


def _hybridise(
    terms: list[tuple[int, str, str | None, float | None]],
) -> list[tuple[int, str, str | None, float | None]]:
    """Hybrid 2021 report: the three （六） sub-rows are replaced by the printed single row."""
    out: list[tuple[int, str, str | None, float | None]] = []
    for coef, scope, addr, const in terms:
        if addr and addr.startswith("t3.") and addr.split(".")[1] in hybrid_split_rows():
            addr = f"t3.{HYBRID_ROW}." + addr.split(".")[2]
            if any(a == addr and s == scope for _c, s, a, _k in out):
                continue
        out.append((coef, scope, addr, const))
    return out


def _spec_for(variant: str, address: str) -> CellSpec | None:
    return cell_index(variant).get(address)


def _labelled_terms(variant: str, raw: list[tuple[int, str, str | None, float | None]], by: str) -> tuple[Term, ...]:
    """Terms with message labels: by row (column fixed) or by column (row fixed)."""
    out: list[Term] = []
    for coef, scope, addr, const in raw:
        spec = _spec_for(variant, addr) if addr else None
        if spec is None:
            label = "" if addr is None else addr
        elif by == "row":
            label = spec.row_short
        else:
            label = spec.col_label
        if scope == "prev":
            label = "上年报告" + label
        out.append(
            Term(addr, coef, scope, const, label, bool(spec and spec.is_total))  # type: ignore[arg-type]
        )
    return tuple(out)


def _subject(variant: str, addresses: list[str], by: str) -> str:
    specs = [s for s in (_spec_for(variant, a) for a in addresses) if s is not None]
    if not specs:
        return ""
    first = specs[0]
    table = TABLE_NAMES[first.table]
    if by == "row":  # one column, several rows
        if first.table == "t3":
            return f"{table} {_t3_column_name(first.col_key, first.col_label)}列"
        return f"{first.subtable_title} {first.col_label}"
    if first.table == "t3":
        return f"{table} {first.row_short}行"
    if first.table == "t4":
        return f"{table} {first.row_short}"
    return f"{first.subtable_title} {first.row_label}"


def _arithmetic_instances(rule_id: str, variant: str) -> list[RuleInstance]:
    rule = yaml_rules()[rule_id]
    template = template_of_variant(variant)
    if template not in rule["applies_to"]:
        return []
    prev_edition = None
    if rule.get("requires_prev"):
        prev_edition = EDITIONS[rule["requires_prev"][0]]
    var, values = _for_each_values(rule, variant)
    out: list[RuleInstance] = []
    for value in values:
        expr = rule["expr"].replace("{" + var + "}", value) if var else rule["expr"]
        left, op, right = _SIDE_SPLIT.split(expr, maxsplit=1)
        lhs_raw, rhs_raw = _parse_side(left), _parse_side(right)
        if variant == "gov2021_hybrid":
            lhs_raw, rhs_raw = _hybridise(lhs_raw), _hybridise(rhs_raw)
        addresses = [a for _c, _s, a, _k in lhs_raw + rhs_raw if a]
        if any(_spec_for(variant, a) is None for a in addresses):
            continue  # e.g. a 2019 row that the variant does not print
        cols = {a.split(".")[2] for a in addresses}
        by = "row" if len(cols) == 1 else "col"
        out.append(
            RuleInstance(
                rule_id=rule_id,
                instance=value,
                variant=variant,
                severity=severity_of(rule_id),
                op=_OPS[op],
                lhs=_labelled_terms(variant, lhs_raw, by),
                rhs=_labelled_terms(variant, rhs_raw, by),
                guard="prev" if any(s == "prev" for _c, s, _a, _k in lhs_raw + rhs_raw) else "always",
                prev_edition=prev_edition,
                subject=_subject(variant, addresses, by),
            )
        )
    return out


_TYPE_OPS = {
    "count": "nonneg_int",
    "signed_count": "int",
    "amount_wan_yuan": "nonneg",
    "amount_unit_in_cell": "nonneg",
}


def _type_instances(variant: str) -> list[RuleInstance]:
    template = template_of_variant(variant)
    rule_for = {"t3": "T3_TYPES", "t4": "T4_TYPES", "t2": "T2_TYPES_2021" if template == "gov2021" else "T2_TYPES_2019"}
    out: list[RuleInstance] = []
    for c in cell_specs(variant):
        rule_id = rule_for[c.table]
        out.append(
            RuleInstance(
                rule_id=rule_id,
                instance=c.address,
                variant=variant,
                severity=severity_of(rule_id),
                op=_TYPE_OPS[c.value_type],
                lhs=(Term(c.address, label=c.col_label),),
                guard="content",
                subject=f"{c.subtable_title} {c.row_label} / {c.col_label}",
                style="type",
            )
        )
    return out


def _structure_instances(variant: str) -> list[RuleInstance]:
    template: Template = load_template(template_of_variant(variant))
    specs = cell_specs(variant)
    out: list[RuleInstance] = [
        RuleInstance(
            "S_IDENTITY",
            what,
            variant,
            severity_of("S_IDENTITY"),
            "eq",
            (Term(f"meta.known.{what}"),),
            (Term(None, const=1.0),),
            style="identity",
        )
        for what in ("agency", "year")
    ]
    for table in ("t2", "t3", "t4"):
        expected = sum(1 for c in specs if c.table == table)
        rule_id = f"{table.upper()}_PRESENT"
        out.append(
            RuleInstance(
                rule_id,
                table,
                variant,
                severity_of(rule_id),
                "ge",
                (Term(f"meta.present.{table}"),),
                (Term(None, const=1.0),),
                subject=TABLE_NAMES[table],
                style="present",
            )
        )
        out.append(
            RuleInstance(
                "S_CELLS_COMPLETE",
                table,
                variant,
                severity_of("S_CELLS_COMPLETE"),
                "eq",
                (Term(f"meta.present.{table}"),),
                (Term(None, const=float(expected)),),
                subject=TABLE_NAMES[table],
                style="complete",
            )
        )
    for section in template.sections:
        out.append(
            RuleInstance(
                "S_SIX_SECTIONS",
                section.key,
                variant,
                severity_of("S_SIX_SECTIONS"),
                "eq",
                (Term(f"meta.section.{section.key}"),),
                (Term(None, const=1.0),),
                subject=section.label,
                style="section",
            )
        )
    out.append(
        RuleInstance(
            "S_TEMPLATE_VS_YEAR",
            "",
            variant,
            severity_of("S_TEMPLATE_VS_YEAR"),
            "eq",
            (Term("meta.template_edition"),),
            (Term("meta.expected_edition"),),
            style="template_year",
        )
    )
    out.append(
        RuleInstance(
            "S_DEADLINE",
            "",
            variant,
            severity_of("S_DEADLINE"),
            "le",
            (Term("meta.published_on"),),
            (Term("meta.deadline"),),
            guard="lhs_present",
            style="deadline",
        )
    )
    return out


def _narrative_instances(variant: str) -> list[RuleInstance]:
    new_total = Term("t3.new_received.total", label="本年新收总计", is_total=True)
    carried = Term("t3.carried_over.total", label="上年结转总计", is_total=True)
    t4 = {b: Term(f"t4.{b}.total", label=f"表四 {name}总计", is_total=True) for b, name in t4_block_names().items()}
    return [
        RuleInstance(
            "N_REQUESTS_RECEIVED",
            "",
            variant,
            severity_of("N_REQUESTS_RECEIVED"),
            "eq",
            (Term("narr.requests_received", label="正文所称收到申请"),),
            (new_total,),
            (new_total, carried),
            guard="lhs_present",
            subject="正文与表三",
            style="narrative",
        ),
        RuleInstance(
            "N_ZERO_REQUESTS",
            "",
            variant,
            severity_of("N_ZERO_REQUESTS"),
            "eq",
            (Term("narr.zero_requests", label="正文称未收到申请"),),
            (new_total,),
            guard="lhs_present",
            subject="正文与表三",
            style="narrative",
        ),
        RuleInstance(
            "N_REVIEW_LITIGATION",
            "review",
            variant,
            severity_of("N_REVIEW_LITIGATION"),
            "eq",
            (Term("narr.review", label="正文所称行政复议"),),
            (t4["review"],),
            guard="lhs_present",
            subject="正文与表四",
            style="narrative",
        ),
        RuleInstance(
            "N_REVIEW_LITIGATION",
            "litigation",
            variant,
            severity_of("N_REVIEW_LITIGATION"),
            "eq",
            (Term("narr.litigation", label="正文所称行政诉讼"),),
            (t4["litigation_direct"], t4["litigation_after_review"]),
            guard="lhs_present",
            subject="正文与表四",
            style="narrative",
        ),
    ]


@functools.cache
def rule_instances(variant: str) -> tuple[RuleInstance, ...]:
    """Every rule instance of a variant, in a stable order (structure, arithmetic, cross-year, types)."""
    if variant not in VARIANTS:
        raise KeyError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    out = _structure_instances(variant)
    for rule_id in ARITHMETIC_RULES:
        out += _arithmetic_instances(rule_id, variant)
    out += _narrative_instances(variant)
    out += _type_instances(variant)
    return tuple(out)


def rule_ids() -> tuple[str, ...]:
    """Every rule id any variant can produce, in catalogue order."""
    seen: list[str] = []
    for variant in VARIANTS:
        for inst in rule_instances(variant):
            if inst.rule_id not in seen:
                seen.append(inst.rule_id)
    return tuple(seen)


@dataclass(frozen=True)
class RuleDecl:
    """Catalogue entry of one rule id: effective and declared severity, title, origin."""

    rule_id: str
    severity: Severity
    declared_severity: Severity
    blocking: bool
    title: str
    origin: str  # templates.yaml | project
    explanation: str


def rule_catalogue() -> tuple[RuleDecl, ...]:
    """One entry per rule id with its effective severity (after issue #3 overrides)."""
    out = []
    for rule_id in rule_ids():
        yaml_rule = yaml_rules().get(rule_id)
        declared = yaml_rule["severity"] if yaml_rule else PROJECT_RULES[rule_id][0]
        sev = severity_of(rule_id)
        out.append(
            RuleDecl(
                rule_id,
                sev,
                declared,
                sev == "error",
                RULE_TITLES.get(rule_id, rule_id),
                "templates.yaml" if yaml_rule else "project",
                (yaml_rule or {}).get("explanation", ""),
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------------------ facts


def report_facts(doc: Mapping[str, Any]) -> dict[str, Fact]:
    """The facts of one parsed report (parse-output.md): its cells plus derived ``meta.*``/``narr.*``.

    Derived facts: ``meta.known.agency|year`` (1/0), ``meta.template_edition`` (2021/2019),
    ``meta.expected_edition`` (from the year), ``meta.published_on`` and ``meta.deadline`` (yyyymmdd),
    ``meta.section.<key>`` (1/0), ``meta.present.<t2|t3|t4>`` (number of cells read), and the
    narrative figures ``narr.*`` (from ``doc["narrative"]`` or, if present, ``doc["text"]``).
    The warehouse derives the same facts in SQL (``qa.v_facts``).
    """
    facts: dict[str, Fact] = {}
    cells = doc.get("cells") or []
    for c in cells:
        value = c.get("value")
        facts[c["address"]] = Fact(
            None if value is None else float(value), c.get("semantic") or "MISSING", c.get("raw")
        )
    template = doc.get("template")
    variant = variant_of(template, (c["address"] for c in cells))
    year = doc.get("year")
    facts["meta.known.agency"] = Fact(1.0 if doc.get("agency") else 0.0)
    facts["meta.known.year"] = Fact(1.0 if year else 0.0)
    if template in EDITIONS:
        facts["meta.template_edition"] = Fact(float(EDITIONS[template]), raw=template)
    edition = expected_edition(year)
    if edition is not None:
        facts["meta.expected_edition"] = Fact(float(edition))
    published = date_number(doc.get("published_on"))
    if published is not None:
        facts["meta.published_on"] = Fact(float(published))
    deadline = date_number(doc.get("publication_deadline") or publication_deadline(doc.get("agency"), year))
    if deadline is not None:
        facts["meta.deadline"] = Fact(float(deadline))
    sections = set(doc.get("sections") or [])
    if variant:
        for section in load_template(template_of_variant(variant)).sections:
            facts[f"meta.section.{section.key}"] = Fact(1.0 if section.key in sections else 0.0)
        for table in ("t2", "t3", "t4"):
            n = sum(
                1
                for spec in cell_specs(variant)
                if spec.table == table and facts.get(spec.address, Fact(None, "MISSING")).semantic != "MISSING"
            )
            facts[f"meta.present.{table}"] = Fact(float(n))
    for key, value in narrative_of(doc).items():
        if value is not None:
            facts[f"narr.{key}"] = Fact(float(value))
    return facts


# "未发生…行政复议、行政诉讼": one statement may deny both (the third alternative of the templates.yaml
# N_REVIEW_LITIGATION pattern stops at the first of the two words).
_NONE_OF = re.compile(r"未(?:发生|产生|收到)[^。；;]{0,30}")


@functools.cache
def _narrative_patterns() -> dict[str, re.Pattern[str]]:
    """The templates.yaml N_* patterns, compiled once: requests_received, zero_requests, review, litigation."""
    spec = yaml_rules()
    # N_REVIEW_LITIGATION is "<行政复议 N件>|<行政诉讼 N件>|<未发生…>": its first two alternatives.
    review, litigation, _none_of = spec["N_REVIEW_LITIGATION"]["pattern"].split("|", 2)
    return {
        "requests_received": re.compile(spec["N_REQUESTS_RECEIVED"]["pattern"]),
        "zero_requests": re.compile(spec["N_ZERO_REQUESTS"]["pattern"]),
        "review": re.compile(review),
        "litigation": re.compile(litigation),
    }


def narrative_of(doc: Mapping[str, Any]) -> dict[str, int]:
    """The narrative figures of a parse result: ``doc["narrative"]``, else read from ``doc["text"]``."""
    narrative = dict(doc.get("narrative") or {})
    if not narrative and doc.get("text"):
        narrative = narrative_facts(doc["text"])
    return narrative


def narrative_facts(text: str) -> dict[str, int]:
    """Figures stated in the narrative (templates.yaml N_* patterns), first occurrence each.

    ``requests_received`` (收到申请N件), ``zero_requests`` (0 when 未收到申请 is stated),
    ``review`` / ``litigation`` (行政复议/行政诉讼 N件, 0 when 未发生… is stated).
    """
    norm = unicodedata.normalize("NFKC", text)
    patterns = _narrative_patterns()
    out: dict[str, int] = {}
    m = patterns["requests_received"].search(norm)
    if m:
        out["requests_received"] = int(m.group(1))
    if patterns["zero_requests"].search(norm):
        out["zero_requests"] = 0
    for key in ("review", "litigation"):
        m = patterns[key].search(norm)
        if m:
            out[key] = int(m.group(1))
    for m in _NONE_OF.finditer(norm):
        if "行政复议" in m.group(0):
            out.setdefault("review", 0)
        if "行政诉讼" in m.group(0):
            out.setdefault("litigation", 0)
    return out


# ------------------------------------------------------------------------------------------ evaluation

_MISSING = Fact(None, "MISSING")


def _term_value(term: Term, facts: Mapping[str, Fact]) -> tuple[float | None, str | None]:
    """(value, problem) of one term under the blank-cell policy; problem is None when usable."""
    if term.address is None:
        return term.const, None
    fact = facts.get(term.address, _MISSING)
    sem = fact.semantic
    if sem in ("NUMBER", "ZERO") and fact.value is not None:
        return fact.value, None
    if sem in ("EMPTY", "NA"):
        if term.is_total:
            return None, f"{term.label}未填写"
        return 0.0, None
    if sem == "TEXT":
        return None, f"{term.label}为文字“{fact.raw or ''}”"
    return None, f"{term.label}缺失"


def _side(terms: tuple[Term, ...], this: Mapping[str, Fact], prev: Mapping[str, Fact]) -> tuple[float, list[str]]:
    total, problems = 0.0, []
    for t in terms:
        v, problem = _term_value(t, prev if t.scope == "prev" else this)
        if problem:
            problems.append(problem)
        else:
            total += t.coef * (v or 0.0)
    return total, problems


def applies(inst: RuleInstance, facts: Mapping[str, Fact], prev: Mapping[str, Fact] | None) -> bool:
    """Whether the instance is checked at all for this report (see :class:`RuleInstance` ``guard``)."""
    if inst.guard == "content":
        return facts.get(inst.lhs[0].address or "", _MISSING).semantic in ("NUMBER", "ZERO", "TEXT")
    if inst.guard == "prev":
        if prev is None:
            return False
        if inst.prev_edition is not None:
            edition = prev.get("meta.template_edition")
            return edition is not None and edition.value == inst.prev_edition
        return True
    if inst.guard == "lhs_present":
        return all(t.address is None or t.address in facts for t in inst.lhs)
    return True


def compare(op: str, lhs: float, rhs: float | None) -> bool:
    """The comparison of a rule instance (tolerance 1e-6; counts are exact)."""
    if op == "eq":
        return rhs is not None and abs(lhs - rhs) <= TOLERANCE
    if op == "le":
        return rhs is not None and lhs <= rhs + TOLERANCE
    if op == "ge":
        return rhs is not None and lhs >= rhs - TOLERANCE
    if op == "nonneg":
        return lhs >= 0
    if op == "int":
        return abs(lhs - round(lhs)) <= TOLERANCE
    if op == "nonneg_int":
        return lhs >= 0 and abs(lhs - round(lhs)) <= TOLERANCE
    raise ValueError(f"unknown op {op!r}")


def evaluate(
    inst: RuleInstance, facts: Mapping[str, Fact], prev: Mapping[str, Fact] | None = None
) -> CheckResult | None:
    """Evaluate one instance on one report's facts (``prev``: the previous year's facts, if any).

    Returns None when the instance does not apply (no previous report, no publication date, an
    empty cell under a type rule …).
    """
    if not applies(inst, facts, prev):
        return None
    prev = prev or {}
    lhs, problems = _side(inst.lhs, facts, prev)
    rhs: float | None = None
    if inst.rhs:
        rhs, rhs_problems = _side(inst.rhs, facts, prev)
        problems += rhs_problems
        if inst.rhs_alt and not problems:
            alt, alt_problems = _side(inst.rhs_alt, facts, prev)
            if not alt_problems and abs(lhs - alt) <= TOLERANCE:
                rhs = alt
    if problems:
        outcome: Outcome = "not_assessable"
        lhs_v, rhs_v = None, None
    else:
        outcome = "pass" if compare(inst.op, lhs, rhs) else "fail"
        lhs_v, rhs_v = lhs, rhs
    message = format_message(inst, outcome, facts, prev, problems)
    return CheckResult(inst.rule_id, inst.instance, inst.severity, inst.blocking, outcome, lhs_v, rhs_v, message)


def evaluate_report(doc: Mapping[str, Any], prev_doc: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """All applicable checks of one parsed report (parse-time use); [] when it is not a statutory report."""
    facts = report_facts(doc)
    variant = variant_of(doc.get("template"), (c["address"] for c in doc.get("cells") or []))
    if variant is None:
        return []
    prev = report_facts(prev_doc) if prev_doc is not None and prev_doc.get("template") else None
    results = (evaluate(inst, facts, prev) for inst in rule_instances(variant))
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------------------ messages


def fmt_number(v: float | None) -> str:
    """A number as an analyst reads it: 21, 7730.28, 5949.088667."""
    if v is None:
        return "?"
    if abs(v - round(v)) <= 1e-9:
        return str(int(round(v)))
    return f"{v:.6f}".rstrip("0").rstrip(".")


def _display(term: Term, facts: Mapping[str, Fact]) -> str:
    if term.address is None:
        return fmt_number(term.const)
    fact = facts.get(term.address, _MISSING)
    if fact.semantic in ("NUMBER", "ZERO") and fact.value is not None:
        return fmt_number(fact.value)
    if fact.semantic == "EMPTY":
        return "空"
    if fact.semantic in ("NA", "TEXT"):
        return f"“{fact.raw or ''}”"
    return "缺失"


def _render_side(terms: tuple[Term, ...], this: Mapping[str, Fact], prev: Mapping[str, Fact]) -> str:
    """``本年新收(21)+上年结转(0)``; long sums list only the non-zero terms."""
    parts: list[tuple[int, str, str]] = []
    for t in terms:
        facts = prev if t.scope == "prev" else this
        parts.append((t.coef, t.label, _display(t, facts)))
    if len(parts) > 8:
        total, _problems = _side(terms, this, prev)
        shown = [p for p in parts if p[2] not in ("0", "空")]
        body = "+".join(f"{label}({disp})" for _c, label, disp in shown) or "均为0"
        rest = len(parts) - len(shown)
        return f"各项之和({fmt_number(total)})：{body}" + (f"，其余{rest}项为0" if shown and rest else "")
    text = ""
    for i, (coef, label, disp) in enumerate(parts):
        sign = "-" if coef < 0 else ("+" if i else "")
        text += f"{sign}{label}({disp})"
    return text


def _labels(terms: tuple[Term, ...]) -> str:
    """``本年新收+上年结转``; a long sum is named ``各项之和``."""
    if len(terms) > 8:
        return "各项之和"
    return "".join(
        ("-" if t.coef < 0 else "+" if i else "") + (t.label or fmt_number(t.const)) for i, t in enumerate(terms)
    )


def _problem_list(problems: list[str]) -> str:
    unique = list(dict.fromkeys(problems))
    if len(unique) > 3:
        return "、".join(unique[:3]) + f"等{len(unique)}项"
    return "、".join(unique)


_FAIL_SIGN = {"eq": "≠", "le": ">", "ge": "<"}
_PASS_SIGN = {"eq": "=", "le": "≤", "ge": "≥"}


def _missing_cells(inst: RuleInstance, facts: Mapping[str, Fact]) -> list[CellSpec]:
    return [
        c
        for c in cell_specs(inst.variant)
        if c.table == inst.instance and facts.get(c.address, _MISSING).semantic == "MISSING"
    ]


def format_message(
    inst: RuleInstance,
    outcome: Outcome,
    facts: Mapping[str, Fact],
    prev: Mapping[str, Fact] | None,
    problems: list[str],
) -> str:
    """The Chinese message of one result, e.g.

    "表三 自然人列：本年新收(21)+上年结转(0) ≠ 办理结果总计(20)+结转下年度(0)".
    """
    prev = prev or {}
    style = inst.style
    if style == "type":
        fact = facts.get(inst.lhs[0].address or "", _MISSING)
        if outcome == "not_assessable":
            return f"{inst.subject}：“{fact.raw or ''}”不是数字"
        shown = fmt_number(fact.value)
        if outcome == "pass":
            return f"{inst.subject}：{shown}"
        wants = {"nonneg_int": "不是非负整数", "int": "不是整数", "nonneg": "为负数"}[inst.op]
        return f"{inst.subject}：{shown} {wants}"
    if style == "identity":
        what = {"agency": "发布机关", "year": "报告年度"}[inst.instance]
        option = {"agency": "--agency", "year": "--year"}[inst.instance]
        return f"{what}已识别" if outcome == "pass" else f"未能从文档识别{what}（可用 {option} 指定）"
    if style == "present":
        return f"{inst.subject}：已找到" if outcome == "pass" else f"{inst.subject}缺失：文档中未找到该表"
    if style == "complete":
        expected = int(inst.rhs[0].const or 0)
        got = int(facts.get(inst.lhs[0].address or "", Fact(0.0)).value or 0)
        if outcome == "pass":
            return f"{inst.subject}：{expected}个单元格齐全"
        missing = _missing_cells(inst, facts)
        names = "、".join(f"{c.row_short}/{c.col_label}" for c in missing[:3])
        more = "等" if len(missing) > 3 else ""
        return f"{inst.subject}：应有{expected}个单元格，读到{got}个，缺{expected - got}个（{names}{more}）"
    if style == "section":
        return f"第{inst.subject[:1]}部分“{inst.subject}”：{'已找到' if outcome == 'pass' else '缺失'}"
    if style == "template_year":
        if outcome == "not_assessable":
            return "报告年度或格式未知，无法核对格式与年度是否相符"
        edition = facts["meta.template_edition"]
        expected = int(facts["meta.expected_edition"].value or 0)
        want = {2021: "2021年版格式（gov2021）", 2019: "2019年试行格式（gov2019）"}.get(expected, "2019年以前的格式")
        year = {2021: "2021年及以后", 2019: "2019、2020"}.get(expected, "2018年及以前")
        if outcome == "pass":
            return f"格式 {edition.raw} 与报告年度相符"
        return f"{year}年度的报告应使用{want}，实际为 {edition.raw}"
    if style == "deadline":
        pub = _number_date(facts["meta.published_on"].value or 0)
        if outcome == "not_assessable":
            return f"发布日期 {pub}，报告年度未知，无法核对发布期限"
        dl = _number_date(facts["meta.deadline"].value or 0)
        if outcome == "pass":
            return f"发布日期 {pub} 未晚于法定期限 {dl}"
        return f"发布日期 {pub} 晚于法定期限 {dl}（条例第四十九条）"
    lhs_text = _render_side(inst.lhs, facts, prev)
    rhs_text = _render_side(inst.rhs, facts, prev)
    prefix = f"{inst.subject}：" if inst.subject else ""
    if outcome == "not_assessable":
        return f"{prefix}{_problem_list(problems)}，无法核对 {_labels(inst.lhs)} = {_labels(inst.rhs)}"
    if inst.rhs_alt and outcome == "fail":
        alt = _render_side(inst.rhs_alt, facts, prev)
        return f"{prefix}{lhs_text} ≠ {rhs_text}，也 ≠ {alt}"
    sign = (_PASS_SIGN if outcome == "pass" else _FAIL_SIGN)[inst.op]
    return f"{prefix}{lhs_text} {sign} {rhs_text}"
