"""Discovery: the candidate locations of one agency's report for one year (direct URLs, local files,
links on listing pages whose title matches the year)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from sources.fetching.fetch import FetchResult


from sources.registry.model import (
    DEFAULT_EXCLUDE,
    Agency,
    DirectSource,
    ListingSource,
    LocalSource,
    is_url,
)
from sources.registry.titles import normalize_title, title_regex


@dataclass(frozen=True)
class Candidate:
    """One place a report may be: ``kind`` is ``url`` or ``path``; ``source`` the registry source kind.

    For a listing, ``via`` is the listing page and ``title`` the link text that matched.
    """

    kind: str
    location: str
    source: str
    via: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Discovery:
    """The candidates for one agency and year, plus the listing fetches made and notes on what failed."""

    agency_id: str
    year: int
    candidates: tuple[Candidate, ...]
    listing_fetches: tuple[FetchResult, ...] = ()
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def __len__(self) -> int:
        return len(self.candidates)


class ListingFetcher(Protocol):
    """What :func:`discover` needs to read a listing page (``sources.fetching.fetch.Fetcher`` provides it)."""

    def fetch_page(self, url: str, allowed_hosts: Sequence[str]) -> tuple[FetchResult, bytes | None]:
        """Fetch ``url`` as a plain page (no attachment following); the result and its archived bytes."""
        ...


def _location_candidate(loc: str) -> Candidate:
    return Candidate("url" if is_url(loc) else "path", loc, "direct")


def _local_candidates(src: LocalSource, year: int) -> list[Candidate]:
    pattern = src.glob.replace("{year}", str(year))
    if src.path.is_file():
        paths = [src.path] if src.path.match(pattern) else []
    else:
        paths = sorted(p for p in src.path.glob(pattern) if p.is_file() and not p.name.startswith("."))
    return [Candidate("path", str(p), "local") for p in paths]


def pick_links(
    links: Sequence[tuple[str, str]], title: str, year: int, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> list[tuple[str, str]]:
    """The ``(url, text)`` links whose text matches the title pattern for ``year`` and contains none of
    the ``exclude`` words (解读, 图解 by default), deduplicated, in page order."""
    regex = title_regex(title, year)
    seen: set[str] = set()
    out = []
    for url, text in links:
        norm = normalize_title(text)
        if url in seen or any(w in norm for w in exclude):
            continue
        if regex.search(norm):
            seen.add(url)
            out.append((url, text))
    return out


def _listing_candidates(
    src: ListingSource, agency: Agency, year: int, fetcher: ListingFetcher
) -> tuple[list[Candidate], list[FetchResult], list[str]]:
    from sources.fetching.pages import page_links

    found: list[Candidate] = []
    fetches: list[FetchResult] = []
    notes: list[str] = []
    for url in src.urls:
        result, body = fetcher.fetch_page(url, agency.allowed_hosts)
        fetches.append(result)
        if body is None:
            notes.append(f"listing {url}: {result.status}" + (f" ({result.reason})" if result.reason else ""))
            continue
        links = page_links(body, result.content_type, result.final_url or url, src.selector)
        picked = pick_links(links, src.title, year, src.exclude)
        if not picked:
            notes.append(f"listing {url}: no link matches {src.title!r} for {year} ({len(links)} links)")
        found += [Candidate("url", link, "listing", via=url, title=text) for link, text in picked]
    return found, fetches, notes


def discover(agency: Agency, year: int, fetcher: ListingFetcher | None = None) -> Discovery:
    """The candidate URLs/paths for ``agency``'s report of ``year``, in source order, without duplicates.

    Direct and local sources need no network.  Listing pages are fetched through ``fetcher`` (their
    host rules apply and they are archived); without a fetcher a listing source only adds a note.
    """
    candidates: list[Candidate] = []
    fetches: list[FetchResult] = []
    notes: list[str] = []
    for src in agency.sources:
        if isinstance(src, DirectSource):
            locs = src.for_year(year)
            candidates += [_location_candidate(loc) for loc in locs]
            if not locs:
                notes.append(f"no URL configured for {year} in [agency.reports]")
        elif isinstance(src, LocalSource):
            found_local = _local_candidates(src, year)
            candidates += found_local
            if not found_local:
                notes.append(f"no file matching {src.glob.replace('{year}', str(year))!r} in {src.path}")
        elif fetcher is None:
            notes.append(f"listing {', '.join(src.urls)} not read: no fetcher given")
        else:
            found, listing_fetches, listing_notes = _listing_candidates(src, agency, year, fetcher)
            candidates += found
            fetches += listing_fetches
            notes += listing_notes
    unique: dict[tuple[str, str], Candidate] = {}
    for c in candidates:
        unique.setdefault((c.kind, c.location), c)
    return Discovery(agency.id, year, tuple(unique.values()), tuple(fetches), tuple(notes))
