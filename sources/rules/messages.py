"""Chinese messages of check results, rendered from the computed sides of a rule instance.

The wording is data: templates.yaml ``check_messages`` has one pattern per message kind (each
rule's ``check.message``) and per outcome; this module fills it from the instance and the facts
its terms read, e.g. "表三 自然人列：本年新收(21)+上年结转(0) ≠ 办理结果总计(20)+结转下年度(0)".
The same functions render a side for the e-mail and the workbook (:func:`side_text`), so a side
reads the same wherever a person sees it.  The outcome itself is decided elsewhere (Great
Expectations for stored checks, :mod:`sources.rules.evaluate` at parse time) and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sources.rules.cells import cell_specs
from sources.rules.model import MISSING, CellSpec, Fact, Outcome, RuleInstance, Term
from sources.rules.reporting import number_date
from sources.rules.sides import side
from sources.template import check_messages

# A sum of more terms than this is shown as its total and its non-zero terms.
LONG_SUM = 8


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
    fact = facts.get(term.address, MISSING)
    if fact.semantic in ("NUMBER", "ZERO") and fact.value is not None:
        return fmt_number(fact.value)
    if fact.semantic == "EMPTY":
        return "空"
    if fact.semantic in ("NA", "TEXT"):
        return f"“{fact.raw or ''}”"
    return "缺失"


def render_side(terms: tuple[Term, ...], this: Mapping[str, Fact], prev: Mapping[str, Fact]) -> str:
    """``本年新收(21)+上年结转(0)``; long sums list only the non-zero terms."""
    parts: list[tuple[int, str, str]] = []
    for t in terms:
        facts = prev if t.scope == "prev" else this
        parts.append((t.coef, t.label, _display(t, facts)))
    if len(parts) > LONG_SUM:
        total, _problems = side(terms, this, prev)
        shown = [p for p in parts if p[2] not in ("0", "空")]
        body = "+".join(f"{label}({disp})" for _c, label, disp in shown) or "均为0"
        rest = len(parts) - len(shown)
        return f"各项之和({fmt_number(total)})：{body}" + (f"，其余{rest}项为0" if shown and rest else "")
    text = ""
    for i, (coef, label, disp) in enumerate(parts):
        sign = "-" if coef < 0 else ("+" if i else "")
        text += f"{sign}{label}({disp})"
    return text


@dataclass(frozen=True)
class ShownTerm:
    """One term of a side as the e-mail and the workbook show it: label, printed text, sign, year."""

    label: str
    shown: str
    coef: int = 1
    previous_year: bool = False


def side_text(terms: Sequence[ShownTerm], total: float | None) -> str:
    """A side for a table cell: ``结果维持 10 + 结果纠正 1 + 其他结果 0 + 尚未审结 0（合计 11）``."""
    parts = []
    for i, t in enumerate(terms):
        sign = "−" if t.coef < 0 else ("+" if i else "")
        prev = "上年报告 " if t.previous_year and not t.label.startswith("上年") else ""
        parts.append(f"{sign} {prev}{t.label} {t.shown}".strip())
    text = " ".join(parts)
    if len(terms) > 1 and total is not None:
        text += f"（合计 {fmt_number(total)}）"
    return text


def derived_side_text(rule_id: str, side_name: str, value: float | None) -> str:
    """A side made of derived facts: dates for the deadline rule; nothing otherwise (the message says it)."""
    if rule_id == "S_DEADLINE" and value is not None:
        label = "发布日期" if side_name == "lhs" else "法定期限"
        return f"{label} {number_date(value)}"
    return ""


def _labels(terms: tuple[Term, ...]) -> str:
    """``本年新收+上年结转``; a long sum is named ``各项之和``."""
    if len(terms) > LONG_SUM:
        return "各项之和"
    return "".join(
        ("-" if t.coef < 0 else "+" if i else "") + (t.label or fmt_number(t.const)) for i, t in enumerate(terms)
    )


def _problem_list(problems: list[str]) -> str:
    unique = list(dict.fromkeys(problems))
    if len(unique) > 3:
        return "、".join(unique[:3]) + f"等{len(unique)}项"
    return "、".join(unique)


def _missing_cells(inst: RuleInstance, facts: Mapping[str, Fact]) -> list[CellSpec]:
    return [
        c
        for c in cell_specs(inst.variant)
        if c.table == inst.instance and facts.get(c.address, MISSING).semantic == "MISSING"
    ]


def problems_of(inst: RuleInstance, facts: Mapping[str, Fact], prev: Mapping[str, Fact] | None) -> list[str]:
    """Why the sides of an instance have no value (empty when both sides are computable)."""
    prev = prev or {}
    return side(inst.lhs, facts, prev)[1] + (side(inst.rhs, facts, prev)[1] if inst.rhs else [])


def _fields(
    inst: RuleInstance, outcome: Outcome, facts: Mapping[str, Fact], prev: Mapping[str, Fact], pattern: dict[str, Any]
) -> dict[str, Any]:
    """The values a pattern of ``inst.style`` is filled with."""
    style = inst.style
    if style == "type":
        fact = facts.get(inst.lhs[0].address or "", MISSING)
        wants = pattern["wants"].get(inst.op, "")
        return {"subject": inst.subject, "value": fmt_number(fact.value), "raw": fact.raw or "", "wants": wants}
    if style == "identity":
        return {"what": pattern["what"][inst.instance], "option": pattern["option"][inst.instance]}
    if style == "complete":
        expected = int(inst.rhs[0].const or 0)
        got = int(facts.get(inst.lhs[0].address or "", Fact(0.0)).value or 0)
        missing = _missing_cells(inst, facts) if outcome != "pass" else []
        names = "、".join(f"{c.row_short}/{c.col_label}" for c in missing[:3]) + ("等" if len(missing) > 3 else "")
        return {"subject": inst.subject, "expected": expected, "got": got, "lacking": expected - got, "names": names}
    if style == "section":
        return {"subject": inst.subject, "no": inst.subject[:1]}
    if style == "template_year":
        edition = facts.get("meta.template_edition", MISSING)
        expected = int(facts.get("meta.expected_edition", Fact(0.0)).value or 0)
        return {"edition": edition.raw, "years": pattern["years"][expected], "want": pattern["want"][expected]}
    if style == "deadline":
        published = number_date(facts.get("meta.published_on", Fact(0.0)).value or 0)
        deadline = facts.get("meta.deadline")
        return {"published": published, "deadline": number_date(deadline.value or 0) if deadline else ""}
    if style == "ocr_verified":
        return {"count": int(facts.get("meta.ocr_unverified", Fact(0.0)).value or 0)}
    return {"subject": inst.subject}


def format_message(
    inst: RuleInstance,
    outcome: Outcome,
    facts: Mapping[str, Fact],
    prev: Mapping[str, Fact] | None = None,
    problems: list[str] | None = None,
) -> str:
    """The Chinese message of one result, from the pattern of ``inst.style`` (templates.yaml
    ``check_messages``) filled with the instance's computed sides, e.g.

    "表三 自然人列：本年新收(21)+上年结转(0) ≠ 办理结果总计(20)+结转下年度(0)".
    """
    prev = prev or {}
    pattern = check_messages()[inst.style]
    if inst.style != "arithmetic":
        text = pattern.get(outcome) or pattern["fail"]
        return str(text).format(**_fields(inst, outcome, facts, prev, pattern))
    prefix = f"{inst.subject}：" if inst.subject else ""
    if outcome == "not_assessable":
        if problems is None:
            problems = problems_of(inst, facts, prev)
        return str(pattern["not_assessable"]).format(
            prefix=prefix, problems=_problem_list(problems), lhs_labels=_labels(inst.lhs), rhs_labels=_labels(inst.rhs)
        )
    lhs, rhs = render_side(inst.lhs, facts, prev), render_side(inst.rhs, facts, prev)
    if inst.rhs_alt and outcome == "fail":
        alt = render_side(inst.rhs_alt, facts, prev)
        return str(pattern["fail_alternative"]).format(prefix=prefix, lhs=lhs, rhs=rhs, alt=alt)
    sign = pattern["pass_sign" if outcome == "pass" else "fail_sign"][inst.op]
    return str(pattern[outcome]).format(prefix=prefix, lhs=lhs, rhs=rhs, sign=sign)
