"""Parse-time evaluation: the checks of one parse result, decided in Python from its own facts.

Stored report versions are decided by Great Expectations over the sides the warehouse computes in
SQL; this evaluator is for a document on its own — ``xxgk parse`` and the OCR reader, which must
know which within-report rules a reading breaks before anything is stored.  It uses the same rule
instances (:mod:`sources.rules.expand`), sides (:mod:`sources.rules.sides`) and messages
(:mod:`sources.rules.messages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.rules.cells import variant_of
from sources.rules.expand import rule_instances
from sources.rules.facts import report_facts
from sources.rules.messages import format_message
from sources.rules.model import MISSING, TOLERANCE, CheckResult, Fact, Outcome, RuleInstance
from sources.rules.sides import side


def applies(inst: RuleInstance, facts: Mapping[str, Fact], prev: Mapping[str, Fact] | None) -> bool:
    """Whether the instance is checked at all for this report (see :class:`RuleInstance` ``guard``)."""
    if inst.guard == "content":
        return facts.get(inst.lhs[0].address or "", MISSING).semantic in ("NUMBER", "ZERO", "TEXT")
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
    inst: RuleInstance, facts: Mapping[str, Fact], prev: Mapping[str, Fact] | None = None, passes: bool = True
) -> CheckResult | None:
    """Evaluate one instance on one report's facts (``prev``: the previous year's facts, if any).

    Returns None when the instance does not apply (no previous report, no publication date, an
    empty cell under a type rule …), and when it passes unless ``passes`` (the message of a pass is
    most of the cost, and :func:`check_report` drops passes).
    """
    if not applies(inst, facts, prev):
        return None
    prev = prev or {}
    lhs, problems = side(inst.lhs, facts, prev)
    rhs: float | None = None
    if inst.rhs:
        rhs, rhs_problems = side(inst.rhs, facts, prev)
        problems += rhs_problems
        if inst.rhs_alt and not problems:
            alt, alt_problems = side(inst.rhs_alt, facts, prev)
            if not alt_problems and abs(lhs - alt) <= TOLERANCE:
                rhs = alt
    lhs_v: float | None
    if problems:
        outcome: Outcome = "not_assessable"
        lhs_v, rhs_v = None, None
    else:
        outcome = "pass" if compare(inst.op, lhs, rhs) else "fail"
        lhs_v, rhs_v = lhs, rhs
        if outcome == "pass" and not passes:
            return None
    message = format_message(inst, outcome, facts, prev, problems)
    return CheckResult(inst.rule_id, inst.instance, inst.severity, inst.blocking, outcome, lhs_v, rhs_v, message)


def evaluate_report(
    doc: Mapping[str, Any], prev_doc: Mapping[str, Any] | None = None, passes: bool = True
) -> list[CheckResult]:
    """All applicable checks of one parse result (and of its previous year's, cross-year rules
    included), those that pass only when ``passes``; [] when it is not a statutory report."""
    facts = report_facts(doc)
    variant = variant_of(doc.get("template"), (c["address"] for c in doc.get("cells") or []))
    if variant is None:
        return []
    prev = report_facts(prev_doc) if prev_doc is not None and prev_doc.get("template") else None
    results = (evaluate(inst, facts, prev, passes) for inst in rule_instances(variant))
    return [r for r in results if r is not None]


def check_report(parse_result: Mapping[str, Any]) -> list[CheckResult]:
    """The within-report rules one parse result breaks: every applicable instance that does not
    pass (``fail`` or ``not_assessable``), in catalogue order; cross-year rules are left out (they
    need the previous year's report).  [] for a document that is not a statutory report.

    Pure: reads only ``parse_result`` (its cells, template, agency, year, sections, narrative).
    """
    return evaluate_report(parse_result, passes=False)
