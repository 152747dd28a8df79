"""The rule catalogue: templates.yaml ``rules:`` with a ``check:`` entry, expanded once into instances.

Each checked rule names how it expands (``check.expand``): ``expr`` rules are parsed from their
expression (``a + prev.b == c``, for each column/row/block of ``for_each``); the others
(``identity``, ``table_present``, ``cells_complete``, ``sections``, ``template_year``,
``deadline``, ``narrative``, ``cell_types``) are one instance per agency/year, table, section,
narrative figure or cell.  Severity, title and message pattern are read from the same entry.

Grain: one :class:`~sources.rules.model.RuleInstance` per variant × rule id × instance, in a stable
order (structure, arithmetic and cross-year in templates.yaml order, narrative, cell types).

Blank cells (templates.yaml D04/D05): a blank or ``/`` *component* counts as 0, but a blank or
``/`` *total* (表三 总计 column or （七）总计 row, 表四 总计) means "not filled in" — the term is
marked ``is_total`` and the instance is not assessable, never computed with 0.
"""

from __future__ import annotations

import functools
import re
from typing import Any, cast

from sources.rules.cells import (
    cell_index,
    cell_specs,
    hybrid_split_rows,
    t3_column_name,
    t4_block_names,
    template_of_variant,
)
from sources.rules.model import HYBRID_ROW, VARIANTS, CellSpec, RuleDecl, RuleInstance, Scope, Severity, Term
from sources.rules.reporting import EDITIONS
from sources.template import TABLE_NAMES, RuleSpec, checked_rules, load_template, raw_spec


@functools.cache
def yaml_rules() -> dict[str, dict[str, Any]]:
    """Every ``rules:`` entry of templates.yaml by id (checked or not)."""
    return {r["id"]: r for r in raw_spec()["rules"]}


@functools.cache
def rule_specs() -> dict[str, RuleSpec]:
    """The checked rules by id (templates.yaml entries with ``check:``)."""
    return {r.id: r for r in checked_rules()}


def severity_of(rule_id: str) -> Severity:
    """The severity the checks use: the project's decision where templates.yaml records one, else the declared."""
    return cast(Severity, rule_specs()[rule_id].severity)


def _rules(expand: str, variant: str) -> list[RuleSpec]:
    """Checked rules of one expansion kind that apply to the variant's template, in templates.yaml order."""
    template = template_of_variant(variant)
    return [r for r in checked_rules() if r.expand == expand and template in r.applies_to]


# ------------------------------------------------------------------------------------------ expressions

_SIDE_SPLIT = re.compile(r"\s*(==|<=|>=)\s*")
_TERM = re.compile(r"([+-])?\s*(prev\.)?([A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?)")
_OPS = {"==": "eq", "<=": "le", ">=": "ge"}
RawTerm = tuple[int, Scope, str | None, float | None]


def _parse_side(text: str) -> list[RawTerm]:
    """``a + prev.b - 3`` → [(coef, scope, address, const), …]."""
    out: list[RawTerm] = []
    for m in _TERM.finditer(text.replace("−", "-")):
        coef = -1 if m.group(1) == "-" else 1
        scope: Scope = "prev" if m.group(2) else "this"
        token = m.group(3)
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            out.append((coef, scope, None, float(token)))
        else:
            out.append((coef, scope, token, None))
    return out


def _for_each_values(rule: RuleSpec, variant: str) -> tuple[str | None, list[str]]:
    if not rule.for_each:
        return None, [""]
    (var, values), *_ = rule.for_each.items()
    if values == "<all data rows of t3>":
        seen: list[str] = []
        for c in cell_specs(variant):
            if c.subtable == "t3" and c.row_key not in seen:
                seen.append(c.row_key)
        return var, seen
    return var, list(values)


def _hybridise(terms: list[RawTerm]) -> list[RawTerm]:
    """Hybrid 2021 report: the three （六） sub-rows are replaced by the printed single row."""
    out: list[RawTerm] = []
    for coef, scope, addr, const in terms:
        if addr and addr.startswith("t3.") and addr.split(".")[1] in hybrid_split_rows():
            addr = f"t3.{HYBRID_ROW}." + addr.split(".")[2]
            if any(a == addr and s == scope for _c, s, a, _k in out):
                continue
        out.append((coef, scope, addr, const))
    return out


def _spec_for(variant: str, address: str) -> CellSpec | None:
    return cell_index(variant).get(address)


def _labelled_terms(variant: str, raw: list[RawTerm], by: str) -> tuple[Term, ...]:
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
        out.append(Term(addr, coef, scope, const, label, bool(spec and spec.is_total)))
    return tuple(out)


def _subject(variant: str, addresses: list[str], by: str) -> str:
    specs = [s for s in (_spec_for(variant, a) for a in addresses) if s is not None]
    if not specs:
        return ""
    first = specs[0]
    table = TABLE_NAMES[first.table]
    if by == "row":  # one column, several rows
        if first.table == "t3":
            return f"{table} {t3_column_name(first.col_key, template_of_variant(variant))}列"
        return f"{first.subtable_title} {first.col_label}"
    if first.table == "t3":
        return f"{table} {first.row_short}行"
    if first.table == "t4":
        return f"{table} {first.row_short}"
    return f"{first.subtable_title} {first.row_label}"


def _expr_instances(rule: RuleSpec, variant: str) -> list[RuleInstance]:
    prev_edition = EDITIONS[rule.requires_prev[0]] if rule.requires_prev else None
    var, values = _for_each_values(rule, variant)
    out: list[RuleInstance] = []
    for value in values:
        expr = (rule.expr or "").replace("{" + var + "}", value) if var else (rule.expr or "")
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
                rule_id=rule.id,
                instance=value,
                variant=variant,
                severity=severity_of(rule.id),
                op=_OPS[op],
                lhs=_labelled_terms(variant, lhs_raw, by),
                rhs=_labelled_terms(variant, rhs_raw, by),
                guard="prev" if any(s == "prev" for _c, s, _a, _k in lhs_raw + rhs_raw) else "always",
                prev_edition=prev_edition,
                subject=_subject(variant, addresses, by),
                style=rule.message,
            )
        )
    return out


# ------------------------------------------------------------------------------------------ cell types

# The type rule of a cell follows its value type (templates.yaml ``value_types``).
_TYPE_OPS = {
    "count": "nonneg_int",
    "signed_count": "int",
    "amount_wan_yuan": "nonneg",
    "amount_unit_in_cell": "nonneg",
}


def _table_of(rule: RuleSpec) -> str:
    """The statutory table a per-table rule covers, from its id (T3_TYPES → t3)."""
    return rule.id.split("_", 1)[0].lower()


def _type_instances(variant: str) -> list[RuleInstance]:
    rule_for = {_table_of(r): r for r in _rules("cell_types", variant)}
    out: list[RuleInstance] = []
    for c in cell_specs(variant):
        rule = rule_for[c.table]
        out.append(
            RuleInstance(
                rule_id=rule.id,
                instance=c.address,
                variant=variant,
                severity=severity_of(rule.id),
                op=_TYPE_OPS[c.value_type],
                lhs=(Term(c.address, label=c.col_label),),
                guard="content",
                subject=f"{c.subtable_title} {c.row_label} / {c.col_label}",
                style=rule.message,
            )
        )
    return out


# ------------------------------------------------------------------------------------------ structure


def _const(value: float) -> tuple[Term, ...]:
    return (Term(None, const=value),)


# The rules checked once per report on two of its ``meta.*`` facts: expansion kind → (op, lhs, rhs,
# guard).  ``lhs_present``: a report without the left fact (no publication date printed, no
# OCR-read cell) has no such check.
_REPORT_RULES: dict[str, tuple[str, tuple[Term, ...], tuple[Term, ...], str]] = {
    "template_year": ("eq", (Term("meta.template_edition"),), (Term("meta.expected_edition"),), "always"),
    "deadline": ("le", (Term("meta.published_on"),), (Term("meta.deadline"),), "lhs_present"),
    "ocr_verified": ("eq", (Term("meta.ocr_unverified"),), _const(0.0), "lhs_present"),
}


def _instance(
    rule: RuleSpec, instance: str, variant: str, op: str, lhs: tuple[Term, ...], rhs: tuple[Term, ...], **more: Any
) -> RuleInstance:
    """One instance of ``rule`` with the severity and message pattern the rule declares."""
    return RuleInstance(rule.id, instance, variant, severity_of(rule.id), op, lhs, rhs, style=rule.message, **more)


def _structure_instances(variant: str) -> list[RuleInstance]:
    specs = cell_specs(variant)
    out: list[RuleInstance] = []
    for rule in _rules("identity", variant):
        for what in ("agency", "year"):
            out.append(_instance(rule, what, variant, "eq", (Term(f"meta.known.{what}"),), _const(1.0)))
    present = {_table_of(r): r for r in _rules("table_present", variant)}
    complete = _rules("cells_complete", variant)
    for table in ("t2", "t3", "t4"):
        expected = float(sum(1 for c in specs if c.table == table))
        counted, subject = (Term(f"meta.present.{table}"),), TABLE_NAMES[table]
        if table in present:
            out.append(_instance(present[table], table, variant, "ge", counted, _const(1.0), subject=subject))
        for rule in complete:
            out.append(_instance(rule, table, variant, "eq", counted, _const(expected), subject=subject))
    for rule in _rules("sections", variant):
        for section in load_template(template_of_variant(variant)).sections:
            shown = (Term(f"meta.section.{section.key}"),)
            out.append(_instance(rule, section.key, variant, "eq", shown, _const(1.0), subject=section.label))
    for expand, (op, lhs, rhs, guard) in _REPORT_RULES.items():
        for rule in _rules(expand, variant):
            out.append(_instance(rule, "", variant, op, lhs, rhs, guard=guard))
    return out


# ------------------------------------------------------------------------------------------ narrative


def _narrative_instances(variant: str) -> list[RuleInstance]:
    """The narrative figures (facts ``narr.*``, read by :mod:`sources.rules.facts`) against 表三/表四 totals."""
    new_total = Term("t3.new_received.total", label="本年新收总计", is_total=True)
    carried = Term("t3.carried_over.total", label="上年结转总计", is_total=True)
    t4 = {b: Term(f"t4.{b}.total", label=f"表四 {name}总计", is_total=True) for b, name in t4_block_names().items()}
    # rule id → [(instance, narrative fact, its label, right side, accepted alternative, subject)]
    shapes: dict[str, list[tuple[str, str, str, tuple[Term, ...], tuple[Term, ...], str]]] = {
        "N_REQUESTS_RECEIVED": [
            ("", "requests_received", "正文所称收到申请", (new_total,), (new_total, carried), "正文与表三")
        ],
        "N_ZERO_REQUESTS": [("", "zero_requests", "正文称未收到申请", (new_total,), (), "正文与表三")],
        "N_REVIEW_LITIGATION": [
            ("review", "review", "正文所称行政复议", (t4["review"],), (), "正文与表四"),
            (
                "litigation",
                "litigation",
                "正文所称行政诉讼",
                (t4["litigation_direct"], t4["litigation_after_review"]),
                (),
                "正文与表四",
            ),
        ],
    }
    out: list[RuleInstance] = []
    for rule in _rules("narrative", variant):
        for instance, fact, label, rhs, alt, subject in shapes[rule.id]:
            out.append(
                RuleInstance(
                    rule.id,
                    instance,
                    variant,
                    severity_of(rule.id),
                    "eq",
                    (Term(f"narr.{fact}", label=label),),
                    rhs,
                    alt,
                    guard="lhs_present",
                    subject=subject,
                    style=rule.message,
                )
            )
    return out


# ------------------------------------------------------------------------------------------ catalogue


@functools.cache
def rule_instances(variant: str) -> tuple[RuleInstance, ...]:
    """Every rule instance of a variant, in a stable order (structure, arithmetic, cross-year, narrative, types)."""
    if variant not in VARIANTS:
        raise KeyError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    out = _structure_instances(variant)
    for rule in _rules("expr", variant):
        out += _expr_instances(rule, variant)
    out += _narrative_instances(variant)
    out += _type_instances(variant)
    return tuple(out)


@functools.cache
def instance_index(variant: str) -> dict[tuple[str, str], RuleInstance]:
    """The instances of a variant by (rule_id, instance)."""
    return {i.key: i for i in rule_instances(variant)}


def rule_ids() -> tuple[str, ...]:
    """Every rule id any variant can produce, in catalogue order."""
    seen: list[str] = []
    for variant in VARIANTS:
        for inst in rule_instances(variant):
            if inst.rule_id not in seen:
                seen.append(inst.rule_id)
    return tuple(seen)


def rule_catalogue() -> tuple[RuleDecl, ...]:
    """One entry per rule id with the severity the checks use, its declared severity and its title."""
    out = []
    for rule_id in rule_ids():
        spec = rule_specs()[rule_id]
        out.append(
            RuleDecl(
                rule_id,
                severity_of(rule_id),
                cast(Severity, spec.declared_severity),
                spec.blocking,
                spec.title,
                spec.origin,
                spec.explanation,
            )
        )
    return tuple(out)
