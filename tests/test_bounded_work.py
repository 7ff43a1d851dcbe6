"""Work bounded by design, not by timeouts: each test counts the steps, or the size of what is built, of a case
that once ran for minutes or hours (issue 10, "Hangs"); a wall-time check, where there is one, is a coarse guard."""

from __future__ import annotations

import time
from math import gcd

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.errors import CnnCalcError
from cnncalc.symbolic import algebra
from cnncalc.symbolic.algebra import TERM_LIMIT, divisors_with_totient, evaluate, exact_gcd, symbol

H, W = symbol("H"), symbol("W")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def totient(d: int) -> int:
    return sum(1 for k in range(1, d + 1) if gcd(k, d) == 1)


# -- adaptive pooling: gcd(size, output) costs sqrt(output) + its divisors, never output ------------------------
@pytest.mark.parametrize("n", [*range(1, 200), 720, 5040, 65536])
def test_divisors_with_totient_against_brute_force(n):
    assert divisors_with_totient(n) == [(d, totient(d)) for d in range(1, n + 1) if n % d == 0]


@pytest.mark.parametrize("m", [2**31 - 1, 2095133040, 10**7])  # a prime, the most divisors below 2^31, 2^7 5^7
def test_exact_gcd_of_a_huge_whole_number_is_small(m, monkeypatch):
    steps = []
    real = algebra._prime_factors
    monkeypatch.setattr(algebra, "_prime_factors", lambda n: steps.append(n) or real(n))
    started = time.perf_counter()
    g = exact_gcd(H, m)
    assert steps == [m]  # factorised once; the loop then runs over the divisors only
    assert len(g.terms) <= 2 * len(divisors_with_totient(m)) <= 3200
    for x in (1, 2, 3, 7, 2**31 - 1, 720720, 10**7, 2095133040, 2 * 2095133040):
        assert evaluate(g, {"H": x}) == gcd(x, m)
    assert time.perf_counter() - started < 2  # coarse guard: it took hours when it looped up to m


def test_a_product_past_the_term_limit_is_an_error_not_a_long_wait():
    big = exact_gcd(H, 720720)  # 240 divisors
    assert len(big.terms) ** 2 > TERM_LIMIT
    with pytest.raises(CnnCalcError, match="terms, more than the limit of 20,000; give whole-number sizes"):
        big * exact_gcd(W, 720720)


def test_sizes_with_a_huge_adaptive_output_answers(tmp_path):
    net = tmp_path / "net.yaml"
    net.write_text("input: [3, 224, 224]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - adaptiveavgpool: 2095133040\n")
    started = time.perf_counter()
    result = run("sizes", str(net))
    assert result.exit_code == 0, result.output
    assert "valid                H >= 3" in result.output
    shapes = run("shapes", str(net), "--input", "3xHxW")  # the FLOPs: a product of two sums of ~3,200 terms
    assert shapes.exit_code == 1 and "more than the limit of 20,000" in shapes.output
    assert "[adaptiveavgpool" in shapes.output  # located at the layer
    assert run("shapes", str(net)).exit_code == 0  # whole-number sizes: gcd of ints
    assert time.perf_counter() - started < 3  # coarse guard: 10 s at 10^7, hours at 2^31 - 1
