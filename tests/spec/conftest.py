from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = Path("/work/shared/examples/seed-pool.json")


@pytest.fixture
def seed_text() -> str:
    local = REPO / "tests" / "corpus" / "pools" / "seed-pool.json"
    return (local if local.exists() else SEED).read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """shellcheck results are cached on disk; tests use their own cache, never the user's."""
    monkeypatch.setenv("BATCHSPEC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "batchspec-cache"))
