"""Label normalisation and matching: printed label text → canonical key.

Implements ``label_normalization`` of templates.yaml: pinyin annotations removed, traditional →
simplified (character level, then the phrases of ``label_phrase_map``), NFKC, all whitespace
removed, one leading enumeration prefix removed, punctuation removed.  Matching is exact on the
normalised key first, then fuzzy only when a single candidate is clearly best.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping

ARTEFACTS = re.compile(r"\[(?:bookmark|image)[^\]]*\]|&nbsp;|[\u200b-\u200f\ufeff\u2060]", re.IGNORECASE)
_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
_WS = re.compile(r"\s+")
_CN_NUM = "一二三四五六七八九十"
_ENUM = re.compile(rf"^(?:[{_CN_NUM}]+[、.．]|\([{_CN_NUM}]+\)|\(\d+\)|\d+[.、．](?!\d)|[{_CN_NUM}]+(?=\())")
_PUNCT = re.compile(r"[，,、。.．:：;；\"“”'‘’「」『』()（）\[\]【】<>《》\-—–―－/／·…!！?？]")


@functools.cache
def t2s():  # pragma: no cover - trivial
    """The OpenCC character-level traditional → simplified converter (one per process)."""
    from opencc import OpenCC

    return OpenCC("t2s")


@functools.lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    """Character-level traditional → simplified conversion (OpenCC t2s)."""
    if text.isascii():
        return text
    return t2s().convert(text)


@functools.cache
def _phrases() -> tuple[tuple[str, str], ...]:
    """Taiwan-style phrases that character-level t2s leaves behind (templates.yaml ``label_phrase_map``)."""
    from sources.template import raw_spec  # sources.template imports this module

    return tuple(raw_spec()["label_phrase_map"].items())


def simplify_phrases(text: str) -> str:
    """``text`` (already simplified character by character) with Taiwan-style phrases mapped (资讯 → 信息 …)."""
    for old, new in _phrases():
        text = text.replace(old, new)
    return text


_SPACES = re.compile(r" {2,}")
_EDGE_SPACE = re.compile(r"^[^\S\t]+|[^\S\t]+$")  # whitespace at a line's ends; tabs (cell breaks) kept


def clean_lines(raw: str) -> list[str]:
    """Non-blank lines of extracted text, runs of spaces folded and line ends trimmed (tabs kept)."""
    out = []
    for line in raw.split("\n"):
        line = _EDGE_SPACE.sub("", _SPACES.sub(" ", line))
        if line.strip():
            out.append(line)
    return out


def clean_text(text: str) -> str:
    """Cell text with converter artefacts ([bookmark: …], &nbsp;, zero-width chars) removed."""
    return ARTEFACTS.sub("", text).replace("\u00a0", " ").replace("\u3000", " ")


@functools.lru_cache(maxsize=65536)
def normalize_label(text: str) -> str:
    """The match key of a printed label: comparable across typography, script and enumeration."""
    text = _PINYIN.sub("", clean_text(text))
    text = simplify_phrases(to_simplified(text))
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub("", text)
    text = _ENUM.sub("", text, count=1)
    return _PUNCT.sub("", text)


@functools.lru_cache(maxsize=65536)
def similarity(a: str, b: str) -> float:
    """difflib's similarity ratio of two match keys (remembered: the statutory labels recur in every report)."""
    return difflib.SequenceMatcher(None, a, b).ratio()


def match_label(
    text: str, candidates: Mapping[str, Iterable[str]], *, cutoff: float = 0.75, margin: float = 0.08
) -> tuple[str | None, str]:
    """Map printed ``text`` to one candidate key, or ``None``.

    ``candidates`` maps a canonical key to its normalised match keys.  Returns ``(key, how)`` where
    how is ``exact``, ``fuzzy`` or ``none``.  A fuzzy match is accepted only when its similarity is
    at least ``cutoff`` and beats every other candidate by ``margin`` (a unique best candidate).
    """
    key = normalize_label(text)
    if not key:
        return None, "none"
    for cand, keys in candidates.items():
        if key in keys:
            return cand, "exact"
    if cutoff > 1.0:  # no similarity reaches it: only exact matches count
        return None, "none"
    scores: list[tuple[float, str]] = []
    for cand, keys in candidates.items():
        best = max((similarity(key, k) for k in keys if len(k) >= 2), default=0.0)
        scores.append((best, cand))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < cutoff:
        return None, "none"
    if len(scores) > 1 and scores[0][0] - scores[1][0] < margin:
        return None, "none"
    return scores[0][1], "fuzzy"


def match_prefix(text: str, candidates: Mapping[str, Iterable[str]], *, min_cover: float = 0.6) -> str | None:
    """The one candidate whose label starts with ``text`` (a label cut short by wrapping), or None.

    Accepted only when the printed part covers at least ``min_cover`` of the label and at least
    six characters, and no other candidate starts the same way.
    """
    key = normalize_label(text)
    if len(key) < 6:
        return None
    hits = {
        cand for cand, keys in candidates.items() for k in keys if k.startswith(key) and len(key) >= min_cover * len(k)
    }
    return hits.pop() if len(hits) == 1 else None
