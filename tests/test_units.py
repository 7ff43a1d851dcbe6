"""Quantities: one reading of counts and sizes, the same through ``expect:``, the ``--max-*`` options and
``run --max-memory``."""

from __future__ import annotations

import re

import pytest

from cnncalc.backend import crosscheck
from cnncalc.errors import CnnCalcError
from cnncalc.units import UNIT_HELP, parse_quantity


@pytest.mark.parametrize(
    "value, unit, amount",
    [
        ("25M", "count", 25_000_000),
        ("4G", "count", 4 * 10**9),
        ("1.5k", "count", 1500),
        ("2T", "count", 2 * 10**12),
        ("3K", "count", 3000),
        ("1P", "count", 10**15),
        ("12_000", "count", 12000),
        ("1,000,000", "count", 10**6),
        ("2.5e6", "count", 2_500_000),
        (1000, "count", 1000),
        (2.5e6, "count", 2_500_000),
        (1e20, "count", 10**20),
        ("0", "count", 0),
        ("200MB", "bytes", 200 * 10**6),
        ("1kB", "bytes", 1000),
        ("1KB", "bytes", 1000),
        ("3 GB", "bytes", 3 * 10**9),
        ("1KiB", "bytes", 1024),
        ("1.5MiB", "bytes", 1572864),
        ("2GiB", "bytes", 2 * 2**30),
        ("64", "bytes", 64),
        ("512MiB", "bytes", 512 * 2**20),
        ("64 KiB", "bytes", 65536),
        ("7B", "bytes", 7),
        ("1PiB", "bytes", 2**50),
        ("1.5GiB", "bytes", 3 * 2**29),
        # read exactly, then a fraction of a whole byte or count is dropped
        ("0.1KiB", "bytes", 102),
        ("1.3GiB", "bytes", 1395864371),
        ("1000.7", "bytes", 1000),
        (0.5, "count", 0),
        ("1.0000001G", "count", 1_000_000_100),
    ],
)
def test_quantities(value, unit, amount):
    assert parse_quantity(value, unit, "--max-x") == amount


@pytest.mark.parametrize(
    "value, unit, received",
    [
        ("25X", "count", "received '25X'"),
        ("-3M", "count", "received '-3M'"),
        (-3, "count", "received -3"),
        (True, "count", "received True"),
        (None, "count", "received None"),
        (float("nan"), "count", "received nan"),
        (float("inf"), "bytes", "received inf"),
        ("", "count", "received ''"),
        ("MB", "bytes", "received 'MB'"),
        ("1,5GB", "bytes", "received '1,5GB'"),
        ("4 GiBs", "bytes", "received '4 GiBs'"),
        ("2Mi", "bytes", "received '2Mi'"),
        ("3m", "count", "received '3m' (did you mean M?)"),
        ("1KIB", "bytes", "received '1KIB' (did you mean KiB?)"),
        ("200MB", "count", "received '200MB' (a count takes no B)"),
        ("7B", "count", "received '7B' (for billions write G)"),
        ("3Mb", "bytes", "received '3Mb' (Mb reads as bits: write MB for 10^6 bytes or MiB for 2^20 bytes)"),
        ("3kb", "bytes", "received '3kb' (kb reads as bits: write kB for 10^3 bytes or KiB for 2^10 bytes)"),
        ("1.5gib", "bytes", "received '1.5gib' (gib reads as bits: write GiB for 2^30 bytes)"),
        ("8b", "bytes", "received '8b' (b reads as bits: write B for bytes)"),
    ],
)
def test_bad_quantities(value, unit, received):
    with pytest.raises(ValueError) as caught:
        parse_quantity(value, unit, "--max-x")
    assert str(caught.value) == f"--max-x must be {UNIT_HELP[unit]}, {received}"


# -- the same string through every entry point ------------------------------------------------------------------
#: 2,000,002,000,000,000 parameters and 8,000,000,000 activation bytes: above every accepted limit below.
HUGE = """\
name: huge
input: [1000000]
{expect}layers:
  - linear: {{out: 2000000000}}
"""

SIZES = [
    ("200MB", 200 * 10**6),
    ("3 GB", 3 * 10**9),
    ("1KiB", 1024),
    ("1.5MiB", 1572864),
    ("4GiB", 4 * 2**30),
    ("64", 64),
    ("7B", 7),
    ("0", 0),
    ("12_000", 12000),
    ("1,000,000", 10**6),
    ("2.5e6", 2_500_000),
    ("0.1KiB", 102),
    ("1.3GiB", 1395864371),
    ("1000.7", 1000),
    ("3Mb", "received '3Mb' (Mb reads as bits: write MB for 10^6 bytes or MiB for 2^20 bytes)"),
    ("4gib", "received '4gib' (gib reads as bits: write GiB for 2^30 bytes)"),
    ("1KIB", "received '1KIB' (did you mean KiB?)"),
    ("1,5GB", "received '1,5GB'"),
    ("plenty", "received 'plenty'"),
    ("-1GB", "received '-1GB'"),
]
COUNTS = [
    ("25M", 25 * 10**6),
    ("1.5k", 1500),
    ("2.5e6", 2_500_000),
    ("1,000", 1000),
    ("0.5k", 500),
    ("2T", 2 * 10**12),
    ("25X", "received '25X'"),
    ("200MB", "received '200MB' (a count takes no B)"),
    ("7B", "received '7B' (for billions write G)"),
    ("3m", "received '3m' (did you mean M?)"),
]


def _reading(output: str, unit: str):
    """The amount a limit was read as (from the violation it causes), or the message of its refusal."""
    if " must be " in output:
        message = output.split(" must be ", 1)[1].strip()
        assert message.startswith(UNIT_HELP[unit] + ", ")
        return message.removeprefix(UNIT_HELP[unit] + ", ")
    return int(re.search(r"is above the maximum (?:.* = )?([0-9,]+)", output).group(1).replace(",", ""))


def _through_expect(cli, tmp_path, figure: str, unit: str, text: str):
    path = tmp_path / "expect.yaml"
    path.write_text(HUGE.format(expect=f"expect:\n  {figure}:\n    max: {text}\n"), encoding="utf-8")
    return _reading(cli("check", str(path)).stdout.splitlines()[0], unit)


def _through_option(cli, tmp_path, option: str, unit: str, text: str):
    path = tmp_path / "plain.yaml"
    path.write_text(HUGE.format(expect=""), encoding="utf-8")
    result = cli("check", str(path), option, text)
    return _reading(result.stderr or result.stdout, unit)


def _through_max_memory(cli, tmp_path, monkeypatch, text: str):
    seen = []

    def stop(report, dtype, limit):
        seen.append(limit)
        raise CnnCalcError("stopped before allocating")

    monkeypatch.setattr(crosscheck, "check_memory", stop)
    path = tmp_path / "plain.yaml"
    path.write_text(HUGE.format(expect=""), encoding="utf-8")
    result = cli("run", str(path), "--max-memory", text)
    return seen[0] if seen else _reading(result.stderr, "bytes")


@pytest.mark.parametrize("text, reading", SIZES)
def test_every_entry_point_reads_a_size_alike(cli, tmp_path, monkeypatch, text, reading):
    readings = {
        "expect": _through_expect(cli, tmp_path, "activation_bytes", "bytes", text),
        "--max-activation-bytes": _through_option(cli, tmp_path, "--max-activation-bytes", "bytes", text),
        "--max-memory": _through_max_memory(cli, tmp_path, monkeypatch, text),
    }
    assert readings == dict.fromkeys(readings, reading)


@pytest.mark.parametrize("text, reading", COUNTS)
def test_every_entry_point_reads_a_count_alike(cli, tmp_path, text, reading):
    readings = {
        "expect": _through_expect(cli, tmp_path, "params", "count", text),
        "--max-params": _through_option(cli, tmp_path, "--max-params", "count", text),
    }
    assert readings == dict.fromkeys(readings, reading)


@pytest.mark.parametrize(
    "value, lower, amount",
    [("2.5", True, 3), ("2.5", False, 2), ("2", True, 2), ("0.1KiB", True, 103), ("1.5k", True, 1500)],
)
def test_a_fraction_rounds_to_the_same_verdict(value, lower, amount):
    """A whole figure meets 'min: 2.5' exactly when it meets 'min: 3', and 'max: 2.5' when it meets 'max: 2'."""
    assert parse_quantity(value, "count" if "B" not in value else "bytes", "x", lower=lower) == amount


#: conv 6 x 1 x 5 x 5 + 6, linear 4,704 x 10 + 10: 47,206 parameters.
SMALL = (
    "name: small\ninput: [1, 32, 32]\n{expect}layers:\n  - conv: {{out: 6, kernel: 5}}\n  - flatten\n  - linear: 10\n"
)


@pytest.mark.parametrize(
    "bound, amount, passes",
    [("min", "47206.5", False), ("min", "47205.5", True), ("max", "47205.5", False), ("max", "47206.5", True)],
)
def test_a_fractional_budget_judges_the_whole_count_exactly(cli, tmp_path, bound, amount, passes):
    """A bound half a parameter away from the count decides as the exact comparison would."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(expect=f"expect:\n  params:\n    {bound}: {amount}\n"), encoding="utf-8")
    result = cli("check", str(path))
    assert "47,206" in cli("params", str(path)).stdout
    assert (result.exit_code == 0) is passes, result.stdout
