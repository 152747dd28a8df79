"""Shared test helpers: where the optional reference material lives, and skips when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared_dir(name: str) -> Path:
    """``../shared/<name>`` or a clean skip when the reference material is not checked out beside us."""
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"../shared/{name} is not present beside the checkout; reference-data test skipped")
    return path
