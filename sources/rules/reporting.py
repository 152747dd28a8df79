"""Report identity and dates: the agency across years, the template a year must use, the legal deadline.

Pure functions on strings and dates; no template or rule knowledge beyond the two editions.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta, timezone

# China Standard Time: deadlines and "today" are dates in China.
CHINA_TZ = timezone(timedelta(hours=8))
# Each template's first report year: gov2021 for 2021 and later, gov2019 for 2019 and 2020.
EDITIONS = {"gov2021": 2021, "gov2019": 2019}

_PAREN = re.compile(r"[（(][^（）()]*[）)]")


def expected_edition(year: int | None) -> int | None:
    """The template edition a report of ``year`` must use: 2021 (≥2021), 2019 (2019–2020), 0 (older)."""
    if year is None:
        return None
    return max((e for e in EDITIONS.values() if year >= e), default=0)


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


def number_date(n: float) -> str:
    """The ISO date of a yyyymmdd number (:func:`date_number`)."""
    whole = int(n)
    return f"{whole // 10000:04d}-{whole // 100 % 100:02d}-{whole % 100:02d}"
