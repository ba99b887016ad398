from __future__ import annotations

from pathlib import Path

import pytest

CWRU_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cwru" / "12k_drive_end"


@pytest.fixture(scope="session")
def cwru_dir() -> Path:
    if not CWRU_DIR.is_dir():
        pytest.skip(f"CWRU data not found at {CWRU_DIR} (see README: Using CWRU data)")
    return CWRU_DIR.resolve()
