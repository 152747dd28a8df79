"""One agency-year: discover the candidates, fetch the first usable one, decide missing / not due / failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sources.fetching.archive import utc_now
from sources.fetching.discover import Candidate, discover
from sources.fetching.fetch import Fetcher, FetchResult
from sources.registry import Agency
from sources.rules import CHINA_TZ

# ============================================================================ one agency-year


def report_deadline(year: int, agency_name: str | None = None) -> date:
    """The statutory publication deadline of ``agency_name``'s ``year`` report, as declared once in
    :func:`sources.rules.publication_deadline` (31 January; 31 March for a government's own report)."""
    from sources.rules import publication_deadline

    deadline = publication_deadline(agency_name, year)
    assert deadline is not None  # a year is given
    return deadline


class AcquireFailed(Exception):
    """An unexpected error in one step of :func:`acquire` (``step``: ``discover`` or ``fetch``);
    the original error is ``__cause__``."""

    def __init__(self, step: str, cause: BaseException):
        text = str(cause).strip().splitlines()
        super().__init__(f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": "))
        self.step = step


@dataclass(frozen=True)
class Acquisition:
    """What became of one agency's report for one year.

    ``status``: ``fetched`` / ``not_modified`` (``result`` is the report), ``missing`` (none found
    after the deadline: the oversight office should be told), ``not_due`` (none found, deadline not
    passed) or ``failed`` (a transient error or an oversized document: try again, don't report yet).
    ``tried`` holds every fetch made, listing pages first; ``notes`` what discovery could not do.
    """

    agency_id: str
    year: int
    status: str
    result: FetchResult | None
    tried: tuple[FetchResult, ...]
    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]
    deadline: date
    checked_at: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the deadline as ISO date)."""
        out = asdict(self)
        out["deadline"] = self.deadline.isoformat()
        return out


def wrong_year(asked: int, printed: int | None) -> str | None:
    """Why the document found for the ``asked`` report year is not that year's report, or ``None``.

    ``printed`` is the report year the parsed document prints (``None`` when it prints none: the
    document is then taken for the asked year).  The one place this is decided: a report of another
    year is stored for the year it prints, and the asked year is recorded as ``wrong_year`` in
    ``qa.acquisitions`` (counted as missing).  The reason is the fetcher's English; its Chinese is in
    :mod:`sources.chinese`.
    """
    if printed is None or printed == asked:
        return None
    return f"the document at this address is the {printed} report, not the {asked} report"


def _summary(tried: Sequence[FetchResult], notes: Sequence[str]) -> str:
    parts = [f"{r.url}: {r.status}" + (f" ({r.reason})" if r.reason else "") for r in tried]
    return "; ".join([*notes, *parts]) or "no source configured"


def acquire(agency: Agency, year: int, fetcher: Fetcher, *, today: date | None = None) -> Acquisition:
    """Discover and fetch ``agency``'s report for ``year``: the first usable candidate wins.

    ``today`` (default: the current date in China) decides between ``missing`` and ``not_due``.
    """
    try:
        found = discover(agency, year, fetcher)
    except Exception as exc:
        raise AcquireFailed("discover", exc) from exc
    tried = list(found.listing_fetches)
    deadline = report_deadline(year, agency.name)
    outcome = partial(
        Acquisition,
        agency_id=agency.id,
        year=year,
        candidates=found.candidates,
        notes=found.notes,
        deadline=deadline,
        checked_at=utc_now(),
    )
    for candidate in found:
        try:
            result = fetcher.fetch_candidate(candidate, agency, year)
        except Exception as exc:
            raise AcquireFailed("fetch", exc) from exc
        tried.append(result)
        if result.ok:
            return outcome(status=result.status, result=result, tried=tuple(tried))
    today = today or datetime.now(CHINA_TZ).date()
    if any(r.status in ("failed", "oversized") for r in tried):
        status = "failed"
    else:
        status = "missing" if today > deadline else "not_due"
    return outcome(status=status, result=None, tried=tuple(tried), reason=_summary(tried, found.notes))
