"""The read and fetch limits the flows use, from the project's settings.

``[xxgk.limits]`` in ``.dlt/config.toml`` overrides fields of
:class:`~sources.parsing.limits.ReadLimits` (``file_bytes``, ``part_bytes``, ``parse_seconds`` …) and
``[xxgk.fetch]`` fields of :class:`~sources.fetching.FetchConfig` (``max_bytes``, ``max_seconds``,
``timeout``, ``retries`` …); read through ``dlt.config`` (:mod:`warehouse.config`), so the environment
wins: ``XXGK__LIMITS__PARSE_SECONDS=30``, ``XXGK__FETCH__MAX_SECONDS=120``.  Unknown keys are refused,
so a misspelt limit is not silently ignored.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sources.parsing.limits import ReadLimits
from warehouse.config import section


def _settings(name: str) -> dict[str, Any]:
    """``[xxgk.<name>]`` of ``.dlt/config.toml``, overridden by ``XXGK__<NAME>__<KEY>``, through ``dlt.config``."""
    return section(f"xxgk.{name}")


def read_limits() -> ReadLimits:
    """The parse limits of this project (defaults, ``[xxgk.limits]``, ``XXGK__LIMITS__*``)."""
    return ReadLimits.from_settings(_settings("limits"))


def fetch_settings() -> dict[str, Any]:
    """:class:`FetchConfig` fields set in ``[xxgk.fetch]`` / ``XXGK__FETCH__*``, typed like their defaults."""
    from sources.fetching import FetchConfig  # not imported for a parse

    defaults: dict[str, Any] = {f.name: f.default for f in fields(FetchConfig)}
    out: dict[str, Any] = {}
    for key, value in _settings("fetch").items():
        if key not in defaults:
            raise ValueError(f"unknown fetch setting {key!r}; known: {sorted(defaults)}")
        kind: type = type(defaults[key])
        if kind is bool and isinstance(value, str):
            out[key] = value.strip().lower() in ("1", "true", "yes", "on")
        else:
            out[key] = kind(value)
    return out
