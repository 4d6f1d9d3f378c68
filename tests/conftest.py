"""Shared test fixtures: paths to the shared data next to the clone."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TINY = SHARED / "data" / "recsys-eval" / "testdata" / "datasets" / "tiny"


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    if not TINY.is_dir():
        raise FileNotFoundError(
            f"shared tiny dataset not found at {TINY} (shared/ must sit beside the clone)"
        )
    return TINY
