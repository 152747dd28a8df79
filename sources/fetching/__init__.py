"""Fetching: discovery of report locations, the polite and bounded :class:`Fetcher`, page analysis, the archive.

:mod:`~sources.fetching.discover` lists candidates, :mod:`~sources.fetching.fetch` downloads them under the
host rules, :mod:`~sources.fetching.pages` tells what an HTML page is, :mod:`~sources.fetching.acquire`
decides one agency-year, :mod:`~sources.fetching.archive` keeps every download by its sha256.
"""

from sources.fetching.acquire import AcquireFailed, Acquisition, acquire, report_deadline, wrong_year
from sources.fetching.archive import Archive
from sources.fetching.discover import Candidate, Discovery, discover, pick_links
from sources.fetching.fetch import STATUSES, FetchConfig, Fetcher, FetchResult
from sources.fetching.pages import analyse_page, page_links, pick_attachment, sniff_kind

__all__ = [
    "STATUSES",
    "AcquireFailed",
    "Acquisition",
    "Archive",
    "Candidate",
    "Discovery",
    "FetchConfig",
    "FetchResult",
    "Fetcher",
    "acquire",
    "analyse_page",
    "discover",
    "page_links",
    "pick_attachment",
    "pick_links",
    "report_deadline",
    "sniff_kind",
    "wrong_year",
]
