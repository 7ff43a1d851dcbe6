"""Shared test fixtures: golden files (regenerate with ``pytest --update-golden``) and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

GOLDEN = Path(__file__).parent / "golden"

# No per-example deadline anywhere: a 200 ms deadline fails at random on a loaded two-core machine (a timed test).
settings.register_profile("cnncalc", deadline=None)
settings.load_profile("cnncalc")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden files from current output")


@pytest.fixture
def golden(request):
    """Compare text with tests/golden/NAME, or rewrite it under --update-golden."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8"), (
            f"output differs from {path}; run pytest --update-golden if intended"
        )

    return check


@pytest.fixture
def cli():
    """Invoke the CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from cnncalc.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "120", "NO_COLOR": "1"})

    return invoke
