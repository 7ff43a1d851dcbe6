"""The corpus of broken descriptions in tests/bad/: each one fails with exit 1, at its place, with its message.

tests/bad/expected.txt lists every file with the location its first error points at and a fragment of the
message. Files starting with '_' are helpers the others include.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

BAD = Path(__file__).parent / "bad"


def _expected() -> dict[str, tuple[str, str]]:
    cases = {}
    for line in (BAD / "expected.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, location, fragment = (part.strip() for part in line.split(" | ", 2))
            cases[name] = (location, fragment)
    return cases


EXPECTED = _expected()


def test_corpus_is_large_and_fully_listed():
    files = sorted(path.name for path in BAD.glob("[!_]*.yaml"))
    assert len(files) >= 40
    assert files == sorted(EXPECTED), "every broken description needs a line in tests/bad/expected.txt"


@pytest.fixture
def in_bad(monkeypatch):
    monkeypatch.chdir(BAD)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_description_fails_cleanly(cli, in_bad, name):
    location, fragment = EXPECTED[name]
    start = time.perf_counter()
    result = cli("check", name)
    assert time.perf_counter() - start < 15, "a broken description must fail fast"
    assert result.exit_code == 1, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{location}: error: "), first
    assert fragment in first
    assert "Traceback" not in result.output


def test_shapes_fails_the_same_way(cli, in_bad):
    result = cli("shapes", "kernel_too_large.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "kernel_too_large.yaml:4:28: error: kernel 9 is larger than the padded input 8 (input 8 + padding 0+0) "
        "(input 3x8x8) [conv1]"
    )


def test_whole_folder_in_every_format(cli, in_bad):
    text = cli("check", ".")
    assert text.exit_code == 1
    assert text.stdout.splitlines()[-1].startswith(f"checked {len(EXPECTED) + 4} files: {len(EXPECTED) + 2} failed")

    document = json.loads(cli("check", ".", "--format", "json").stdout)
    assert document["ok"] is False and document["failed"] == len(EXPECTED) + 2  # + the two _cycle_ libraries
    by_file = {entry["file"]: entry for entry in document["files"]}
    assert by_file["_blocks.yaml"]["ok"] and by_file["_blocks.yaml"]["kind"] == "library"

    github = cli("check", ".", "--format", "github").stdout.splitlines()
    assert sum(line.startswith("::error file=") for line in github) == len(EXPECTED) + 2

    root = ElementTree.fromstring(cli("check", ".", "--format", "junit").stdout)
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(EXPECTED) + 4
    assert sum(case.find("failure") is not None for case in cases) == len(EXPECTED) + 2


@pytest.mark.parametrize("name", sorted(name for name in EXPECTED if not name.startswith("expect_")))
def test_shapes_fails_on_each_at_the_same_place(cli, in_bad, name):
    """The table commands print the error that check reports (expectations are check's alone)."""
    location, fragment = EXPECTED[name]
    result = cli("shapes", name)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"{location}: error: ") and fragment in result.stderr
    assert len(result.stderr.splitlines()) == 1
