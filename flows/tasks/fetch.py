"""The fetch task: discover and fetch the reports of a chunk of agencies for one year.

One ``fetch-chunk`` task per chunk of agencies (25 by default) runs on the flow's thread-pool task
runner, with a few threads inside.  Kept hand-made for a measured reason: a Prefect task run costs
7.4 ms called / 60 ms submitted here (``xxgk bench run``), so one task per agency would add about a
minute per 1,000 agencies, against 1 s for chunks of 25.

All fetch threads of a run share one :class:`~sources.fetching.Fetcher`, in the flow's process: its
per-host politeness — a minimum interval between two requests to one host and at most
``host_limit`` requests to one host at a time — is therefore exact across every worker (two fetch
processes pacing themselves separately let requests to one host come 0.054 s apart with a 1 s
interval).  The task takes the agencies and the fetcher as arguments and returns the results.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import stopping
from flows.cli import progress
from flows.outcome import AgencyResult
from sources.fetching import AcquireFailed, Fetcher, acquire, report_deadline
from sources.fetching.fetch import FetchResult
from sources.registry import Agency


def acquisition_status(status: str, tried: Sequence[FetchResult], today: date, deadline: date) -> str:
    """The recorded status: ``refused`` when nothing was found and a URL was refused (a registry problem);
    ``not_due`` instead of ``missing`` until the agency's own deadline (31 March for a government's report)."""
    if status in ("missing", "not_due") and any(r.status == "refused" for r in tried):
        return "refused"
    if status == "missing" and today <= deadline:
        return "not_due"
    return status


def base_result(agency: Agency, office_name: str | None, year: int, status: str, **kw: Any) -> AgencyResult:
    """An :class:`AgencyResult` of ``agency`` for ``year`` with ``status`` and the fields ``kw``."""
    return AgencyResult(
        agency_id=agency.id,
        agency_name=agency.name,
        region=agency.region,
        level=agency.level,
        oversight=agency.oversight,
        oversight_name=office_name,
        year=year,
        status=status,
        deadline=report_deadline(year, agency.name),
        checked_at=kw.pop("checked_at", None) or datetime.now(UTC).isoformat(),
        **kw,
    )


def acquire_agency(agency: Agency, office_name: str | None, year: int, today: date, fetcher: Fetcher) -> AgencyResult:
    """Discover and fetch one agency's report of ``year``; an error becomes a ``failed`` result at the
    step that raised it (``discover`` or ``fetch``, as :func:`sources.fetching.acquire` records it)."""
    try:
        acq = acquire(agency, year, fetcher, today=today)
    except AcquireFailed as exc:
        return base_result(agency, office_name, year, "failed", step=exc.step, reason=str(exc))
    tried = [{"url": r.url, "status": r.status, "http_status": r.http_status, "reason": r.reason} for r in acq.tried]
    status = acquisition_status(acq.status, acq.tried, today, acq.deadline)
    out = base_result(
        agency,
        office_name,
        year,
        status,
        checked_at=acq.checked_at,
        tried=tried,
        reason=acq.reason,
        downloaded_bytes=sum(r.downloaded for r in acq.tried),
    )
    if acq.result is not None:
        r = acq.result
        out.url, out.final_url, out.format, out.sha256 = r.url, r.final_url, r.kind, r.sha256
        out.reason = r.reason
    elif status == "failed":
        out.step = "fetch" if acq.candidates else "discover"
    elif acq.candidates:
        out.url = acq.candidates[0].location
    return out


def _stopped(agency: Agency, office_name: str | None, year: int) -> AgencyResult:
    return base_result(agency, office_name, year, "failed", step="fetch", reason="运行被中断，未采集")


@task(
    name="fetch-chunk",
    task_run_name="fetch {year} #{index}",
    retries=2,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def fetch_chunk(
    agencies: list[Agency],
    offices: Mapping[str, str | None],
    year: int,
    today: date,
    fetcher: Fetcher,
    threads: int,
    index: int,
) -> dict[str, Any]:
    """Acquire the reports of ``agencies`` (``threads`` at a time, in order); ``{"results": [AgencyResult],
    "started", "ended", "cpu", "cpu_by_format"}`` (``cpu``: thread CPU seconds spent; ``cpu_by_format``:
    format of the document fetched → [CPU seconds, agencies]).  ``offices`` maps an oversight id to its
    name.  Once a stop is requested (Ctrl-C, SIGTERM) the remaining agencies are not fetched."""
    started = time.time()

    def one(agency: Agency) -> tuple[AgencyResult, float]:
        cpu = time.thread_time()
        office = offices.get(agency.oversight)
        result = _stopped(agency, office, year) if stopping.requested() else None
        result = result or acquire_agency(agency, office, year, today, fetcher)
        progress.advance("agencies")
        progress.advance("fetched", int(result.status == "fetched"))
        return result, time.thread_time() - cpu

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(agencies))), thread_name_prefix="fetch") as pool:
        done = list(pool.map(one, agencies))
    by_format: dict[str, list[float]] = {}
    for r, c in done:
        entry = by_format.setdefault(r.format or "none", [0.0, 0])
        entry[0] += c
        entry[1] += 1
    return {
        "results": [r for r, _c in done],
        "started": started,
        "ended": time.time(),
        "cpu": sum(c for _r, c in done),
        "cpu_by_format": by_format,
    }
