"""Where the optional reference material (../shared) lives, and a clean skip when it is absent.

A plain module, not a conftest: `from refdata import shared_dir` works from every test folder,
whatever conftest.py files those folders have."""

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
