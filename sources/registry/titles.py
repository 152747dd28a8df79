"""Report titles: the year written in Chinese or Arabic digits, titles normalised, title patterns as regexes."""

from __future__ import annotations

import re
import unicodedata

from sources.parsing.labels import simplify_phrases, to_simplified

_CN_DIGITS = "〇一二三四五六七八九"


def year_pattern(year: int) -> str:
    """Regex alternatives for ``year`` as printed: 2023, 二〇二三, 二零二三 (fullwidth digits are NFKC'd)."""
    digits = str(year)
    cn = "".join(_CN_DIGITS[int(d)] for d in digits)
    forms = [digits, cn, cn.replace("〇", "零")]
    return r"(?<![\d〇零一二三四五六七八九])(?:" + "|".join(dict.fromkeys(forms)) + r")(?![\d])"


def normalize_title(text: str) -> str:
    """Link text as compared with title patterns: NFKC, simplified script and phrases, whitespace removed."""
    text = unicodedata.normalize("NFKC", simplify_phrases(to_simplified(text)))
    return re.sub(r"\s+", "", text)


def title_regex(pattern: str, year: int) -> re.Pattern[str]:
    """The compiled search regex of a link-title pattern for ``year``.

    ``"re:<regex>"`` is a regular expression with ``{year}`` substituted; otherwise the pattern is
    literal text where ``{year}`` is the year (Arabic or Chinese numerals) and ``*``, ``…`` or ``...``
    stand for any text.  Script and whitespace are normalised on both sides.
    """
    year_re = year_pattern(year)
    if pattern.startswith("re:"):
        return re.compile(normalize_title(pattern[3:]).replace("{year}", year_re))
    parts = re.split(r"(\{year\}|\*|…|\.\.\.)", normalize_title(pattern))
    out = []
    for part in parts:
        if part == "{year}":
            out.append(year_re)
        elif part in ("*", "…", "..."):
            out.append(".*?")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))
