"""The two sides of a rule instance computed from a report's facts under the blank-cell policy.

A blank or ``/`` component counts as 0; a blank total, a MISSING or a TEXT term has no value and
makes the side not assessable, with a Chinese *problem* naming the term ("本年新收总计未填写").
Messages (:mod:`sources.rules.messages`) and the parse-time evaluator (:mod:`sources.rules.evaluate`)
both read sides from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from sources.rules.model import MISSING, Fact, Term


def term_value(term: Term, facts: Mapping[str, Fact]) -> tuple[float | None, str | None]:
    """(value, problem) of one term under the blank-cell policy; problem is None when usable."""
    if term.address is None:
        return term.const, None
    fact = facts.get(term.address, MISSING)
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


def side(terms: tuple[Term, ...], this: Mapping[str, Fact], prev: Mapping[str, Fact]) -> tuple[float, list[str]]:
    """(sum, problems) of one side; the sum counts only the usable terms."""
    total, problems = 0.0, []
    for t in terms:
        v, problem = term_value(t, prev if t.scope == "prev" else this)
        if problem:
            problems.append(problem)
        else:
            total += t.coef * (v or 0.0)
    return total, problems
