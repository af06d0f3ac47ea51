import pytest


@pytest.fixture(autouse=True)
def _image_cache(tmp_path, monkeypatch):
    """Decoded-image caches go to a per-test folder, never the user's ~/.cache."""
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))
