"""The safe expression evaluator: what it computes, and everything it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.expr import ExpressionError, evaluate


@pytest.mark.parametrize(
    "text,names,expected",
    [
        ("4 * width", {"width": 64}, 256),
        ("width // 2 + 1", {"width": 7}, 4),
        ("12 / 4", {}, 3),
        ("3 / 2", {}, 1.5),
        ("2 ** 10", {}, 1024),
        ("-x + 1", {"x": 3}, -2),
        ("x % 3", {"x": 10}, 1),
        ("2 if i == 0 else 1", {"i": 0}, 2),
        ("2 if i == 0 else 1", {"i": 5}, 1),
        ("i > 0 and i < 3", {"i": 2}, True),
        ("not (i == 0 or i == 1)", {"i": 1}, False),
        ("1 < x <= 3", {"x": 3}, True),
        ("min(a, b) + max(a, 2)", {"a": 5, "b": 3}, 8),
        ("min(4)", {}, 4),
        ("max(a)", {"a": 3}, 3),
        ("min(a, 2.5, b)", {"a": 5, "b": 3}, 2.5),
        ("true", {}, True),
        ("in_channels", {"in_channels": 32}, 32),
    ],
)
def test_evaluates(text, names, expected):
    assert evaluate(text, names) == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("__import__('os').system('true')", "only min(...) and max(...) may be called"),
        ("open('/etc/passwd')", "only min(...) and max(...) may be called"),
        ("x.__class__", "is not allowed"),
        ("[1, 2][0]", "is not allowed"),
        ("lambda: 1", "is not allowed"),
        ("'text'", "is not a number"),
        ("y + 1", "unknown name 'y'"),
        ("1 / 0", "division by zero"),
        ("1 // 0", "division by zero"),
        ("1 % 0", "modulo by zero"),
        ("2 ** 100", "exponent must be a whole number from 0 to 64"),
        ("2 ** -1", "exponent must be a whole number from 0 to 64"),
        ("10 ** 20", "is too large"),
        ("1 +", "is not a valid expression"),
        ("x = 1", "is not a valid expression"),
        ("1 << 2", "is not allowed"),
        ("1 is 1", "is not allowed"),
        ("max()", "needs at least one argument"),
        ("max(a=1)", "only min(...) and max(...) may be called"),
        ("'a' * 2", "is not a number"),
        ("1 " * 300, "longer than 400 characters"),
    ],
)
def test_refuses(text, message):
    with pytest.raises(
        ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.").replace("*", r"\*")
    ):
        evaluate(text, {"x": 1, "a": 1})


def test_type_errors_are_expression_errors():
    with pytest.raises(ExpressionError, match="cannot compute"):
        evaluate("x + 1", {"x": "same"})


@given(
    st.sampled_from(["min", "max"]),
    st.lists(st.one_of(st.integers(-(10**6), 10**6), st.booleans(), st.text(max_size=2)), min_size=0, max_size=4),
)
def test_the_callable_functions_answer_any_arguments_with_a_value_or_an_expression_error(function, values):
    """The class of min(4): whatever the count and the types of the arguments, a value or a clear error."""
    names = {f"a{i}": value for i, value in enumerate(values)}
    text = f"{function}({', '.join(names)})"
    try:
        result = evaluate(text, names)
    except ExpressionError:
        return
    numbers = [value for value in values if isinstance(value, int)]  # a bool counts, as in arithmetic: True is 1
    assert len(numbers) == len(values) >= 1 and result == (min if function == "min" else max)(numbers)
