"""Work bounded by design, not by timeouts: each test counts the steps, or the size of what is built, of a case
that once ran for minutes or hours (issue 10, "Hangs"); a wall-time check, where there is one, is a coarse guard."""

from __future__ import annotations

import os
import time
from math import gcd
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cnncalc.backend import view
from cnncalc.ci.check import expand_targets
from cnncalc.cli import app
from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.propagate import propagate
from cnncalc.symbolic import algebra
from cnncalc.symbolic import solve as solve_module
from cnncalc.symbolic.algebra import TERM_LIMIT, Condition, divisors_with_totient, evaluate, exact_gcd, symbol
from cnncalc.symbolic.decide import decide
from cnncalc.symbolic.recording import Recorded
from cnncalc.symbolic.solve import RULES, VALID, Budget, Unsolved, analyse, describe, solve
from cnncalc.symbolic.text import sizes_text

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


# -- sizes: thresholds by bisection, each condition solved once, residue work bounded per rule -------------------
def _layers(*lines: str, input: str = "[3, 140000000]") -> str:
    return f"input: {input}\nlayers:\n" + "".join(f"  - {line}\n" for line in lines)


POOLS_THEN_CONVS = _layers(  # the 5-line network of issue 10: no answer after 100 s, check took 0.13 s
    "repeat: {times: 16, layers: [{maxpool: {kernel: 2, stride: 2, ceil_mode: true}}]}",
    "repeat: {times: 400, layers: [{conv: {out: 3, kernel: 3}}]}",
)


def test_sizes_of_many_conditions_over_a_long_period_is_a_few_steps_each(monkeypatch):
    calls = []
    real = solve_module.evaluate
    monkeypatch.setattr(solve_module, "evaluate", lambda f, binding: calls.append(1) or real(f, binding))
    started = time.perf_counter()
    _, (dimension,) = analyse(parse_network(POOLS_THEN_CONVS, "net.yaml"))
    first = 65536 * 800 + 1  # the 400th conv needs ceil(L/65536) - 2*400 >= 1
    assert describe(dimension.valid, "L") == f"L >= {first}"
    network = parse_network(POOLS_THEN_CONVS, "net.yaml")
    assert propagate(network._replace(input=(3, first))).output == (1, 3, 1)
    with pytest.raises(CnnCalcError, match="kernel 3 is larger than the padded input 2"):
        propagate(network._replace(input=(3, first - 1)))
    assert not dimension.within(*RULES)
    conditions = len(dimension.layers["size"])
    assert conditions >= 400
    assert len(calls) <= 64 * conditions  # bisection: was 65,536 values per condition
    assert time.perf_counter() - started < 3  # coarse guard


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(1, 9)), min_size=1, max_size=4),
    st.integers(-40, 40),
    st.sampled_from([1, -1]),
    st.sampled_from([">=", "<=", ">", "<"]),
)
def test_monotone_conditions_solve_as_thresholds_like_brute_force(chain, constant, sign, relation):
    x = symbol("L")
    for offset, stride in chain:  # a conv/pool chain: floor((x + offset)/stride), every term rising
        x = (x + offset) // stride
    f = sign * x + constant
    holds = {">=": int.__ge__, "<=": int.__le__, ">": int.__gt__, "<": int.__lt__}[relation]
    truth = [holds(evaluate(f, {"L": size}), 0) for size in range(1, 400)]
    condition = Condition.of(f, relation, 0)
    if not isinstance(condition, Condition):  # decided from the value at 1 and the direction, whatever the period
        assert truth == [condition] * len(truth), (str(f), relation)
        return
    assert decide(*condition.normal()) is None
    sizes = solve(Recorded(condition, "m", "size", "l", None), "L", Budget())
    assert sizes.modulus == 1  # one threshold, whatever the period
    assert [size in sizes for size in range(1, 400)] == truth, (str(f), relation)


def test_a_condition_past_the_work_limit_is_undecided_not_waited_for():
    L = symbol("L")
    periodic = Condition.of(L // 32768 - 2 * (L // 65536), "==", 0)  # bit 15 clear: period 65,536
    item = Recorded(periodic, "m", "exact", "pool16", None)
    with pytest.raises(Unsolved, match="period of 65,536 sizes is past the work limit"):
        solve(item, "L", Budget(1000))
    assert solve(item, "L", Budget()).modulus == 65536  # within the limit it is solved exactly


def test_the_same_condition_again_is_not_solved_again(monkeypatch):
    L = symbol("L")
    periodic = Condition.of(L // 16384 - 2 * (L // 32768), "==", 0)
    items = [Recorded(periodic, "m", "merge", f"add{i}", None) for i in range(1000)]
    solved = []
    real = solve_module.solve
    monkeypatch.setattr(solve_module, "solve", lambda *a: solved.append(1) or real(*a))
    dimension = solve_module._dimension("L", items)
    assert len(solved) == 1
    assert dimension.layers["merge"] == items[:1] and not dimension.within(*RULES)


def test_sizes_reports_what_is_undecided_at_the_bound():
    text = _layers(
        "repeat: {times: 16, layers: [{maxpool: {kernel: 2, stride: 2}}]}",  # exact rules of periods 2 .. 65,536
        "repeat: {times: 10, layers: [{conv: {out: 3, kernel: 3}}]}",
    )
    network, (dimension,) = analyse(parse_network(text, "net.yaml"))
    assert describe(dimension.valid, "L") == "L >= 1376256" and not dimension.within(*VALID)  # required: decided
    assert dimension.within("exact") and [item.layer for item, _ in dimension.undecided["exact"]] == ["repeat1.15"]
    lines = sizes_text(network, [dimension]).splitlines()
    assert lines[4] == "  no pixels dropped    within L = 32768k         (repeat1.0, repeat1.1, repeat1.2 and 12 more)"
    assert lines[6] == "  valid and exact      within L = 32768k, L >= 1376256"
    assert lines[7].startswith("  undecided            1 condition, the first: repeat1.15: ")
    assert lines[7].endswith("is past the work limit of 262,144 steps")


# -- check: folders and patterns enter each real folder once, and give each real file once ----------------------
NET = "input: [3, 8, 8]\nlayers:\n  - conv: {out: 2, kernel: 3}\n"


@pytest.fixture
def linked_tree(tmp_path, monkeypatch):
    """d/a.yaml, d/sub/b.yml, d/.hid/c.yaml, and three links: d/self -> ., d/sub/up -> .., d/again -> sub."""
    d = tmp_path / "d"
    for name in ("a.yaml", "sub/b.yml", ".hid/c.yaml"):
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(NET)
    (d / "self").symlink_to(".")
    (d / "sub" / "up").symlink_to("..")
    (d / "again").symlink_to("sub")
    monkeypatch.chdir(tmp_path)
    return d


@pytest.mark.parametrize(
    "targets, files",
    [
        (["d/**/*.yaml"], ["d/a.yaml"]),  # 41 times with one link, never finished with three
        (["d/**/*.y*ml"], ["d/a.yaml", "d/sub/b.yml"]),  # by the real folder's path, not the link's
        (["d"], ["d/a.yaml", "d/sub/b.yml"]),
        (["d/**"], ["d/a.yaml", "d/sub/b.yml"]),
        (["**/b.yml", "d/sub/b.yml", "d"], ["d/sub/b.yml", "d/a.yaml"]),  # each real file once over all targets
        (["d/again/b.yml", "**/b.yml"], ["d/again/b.yml"]),  # a file given by name is kept as given
        (["d/a.yaml", "d/**/*.yaml"], ["d/a.yaml"]),
        (["d/.hid/*.yaml", "d/**/.hid/*.yaml"], ["d/.hid/c.yaml"]),  # hidden only when named
    ],
)
def test_check_visits_each_real_folder_and_file_once(linked_tree, monkeypatch, targets, files):
    walks = []  # per walk, the folders it entered

    def walk(*args, **kwargs):
        walks.append([])
        for step in real_walk(*args, **kwargs):
            walks[-1].append(os.path.realpath(step[0]))
            yield step

    real_walk = os.walk
    monkeypatch.setattr(os, "walk", walk)
    expanded = expand_targets(targets)
    assert [name for name, problem in expanded if problem is None] == files
    for entered in walks:  # each real folder once: at most the tmp folder, d, d/sub and d/.hid
        assert len(entered) == len(set(entered)) <= 4


def test_check_of_a_linked_tree_answers(linked_tree):
    started = time.perf_counter()
    result = run("check", "d/**/*.yaml", "d")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "checked 2 files: all passed"
    assert time.perf_counter() - started < 2  # coarse guard


# -- run: the table is the static tables' aligned text, linear in the layers ------------------------------------
def _run_result(count: int, differs: int | None = None):
    layers = [
        SimpleNamespace(
            path=f"blocks.{i}",
            kind="relu",
            computed=(1, 2, 4, 4),
            executed=(1, 2, 4, 5 if i == differs else 4),
            match=i != differs,
            seconds=i * 1e-6,
        )
        for i in range(count)
    ]
    return SimpleNamespace(name="net", input=(1, 2, 4, 4), dtype="float32", weights="random, seed 0", layers=layers)


def test_run_table_layout():
    assert view.run_table(_run_result(2)).splitlines() == [
        "net  input 1x2x4x4  (float32, random, seed 0)",
        "Layer     Kind  Computed  Executed        ms",
        "blocks.0  relu   1x2x4x4   1x2x4x4  ok  0.00",
        "blocks.1  relu   1x2x4x4   1x2x4x4  ok  0.00",
    ]
    assert view.run_table(_run_result(3, differs=1)).splitlines()[1:] == [
        "Layer     Kind  Computed  Executed             ms",
        "blocks.0  relu   1x2x4x4   1x2x4x4    ok     0.00",  # the mark centred, as the rich table had it
        "blocks.1  relu   1x2x4x4   1x2x4x5  DIFFERS  0.00",
        "blocks.2  relu   1x2x4x4   1x2x4x4    ok     0.00",
    ]
    colored = view.run_table(_run_result(3, differs=1), color=True).splitlines()
    assert colored[1].startswith("\x1b[1mLayer") and "\x1b[32mok\x1b[0m" in colored[2]
    assert "\x1b[1m\x1b[31mDIFFERS\x1b[0m" in colored[3]


def test_run_table_of_many_layers_is_plain_text(monkeypatch):
    import rich.table

    monkeypatch.setattr(rich.table.Table, "__init__", lambda *a, **k: pytest.fail("a rich Table was built"))
    result = _run_result(20_000)
    started = time.perf_counter()
    lines = view.run_table(result).splitlines()
    assert len(lines) == 2 + 20_000 and lines[-1] == "blocks.19999  relu   1x2x4x4   1x2x4x4  ok  20.00"
    assert time.perf_counter() - started < 2  # coarse guard: rich took 42 s for 100,000 rows
