"""Runtime values: number, timestamp and interval formatting; time() parsing; C rounding; runtime failures."""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

import pytest

from batchspec.sim import values as V
from batchspec.sim.timeparse import parse_time
from batchspec.sim.values import TimeInterval, Timestamp

from .conftest import P, evaluate, message, state


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (96.66666666666667, "96.6667"),  # R4
        (100.0, "100"),
        (0.0, "0"),
        (-0.0, "-0"),  # a C++ stream prints the sign of negative zero
        (3.0, "3"),
        (-3.0, "-3"),
        (0.5, "0.5"),
        (1 / 3, "0.333333"),
        (123456.0, "123456"),
        (999999.0, "999999"),
        (999999.5, "1e+06"),
        (1234567.0, "1.23457e+06"),
        (16777216.0, "1.67772e+07"),  # Shipyard's unbounded maximum
        (1e300, "1e+300"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (5e-324, "4.94066e-324"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
    ],
)
def test_number_format_is_c_percent_g(value: float, text: str) -> None:
    assert V.format_number(value) == text


def test_number_format_in_results() -> None:
    r = evaluate("big = 1234567 * 1000000; small = 1 / 3000000; negzero = -0; int = 100; frac = 2.50;")
    assert r.results == P + ";big=1.23457e+12;frac=2.5;int=100;negzero=-0;small=3.33333e-07"


def test_vector_format() -> None:
    r = evaluate(
        "v = $ActiveTasks.GetSample(4) / 3; e = $RunningTasks.GetSample(2);",
        state(ActiveTasks=[0, 1, 2, 3000000]),
    )
    assert r.results == P + ";e=[];v=[0,0.333333,0.666667,1e+06]"


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999Z"),
        ("1969-12-31T23:59:59.9990000Z", "1969-12-31T23:59:59.999Z"),
    ],
)
def test_timestamp_format_extremes(text: str, iso: str) -> None:
    ticks = parse_time(text)
    assert ticks is not None
    assert V.format_timestamp(Timestamp(ticks)) == iso
    assert V.format_timestamp_7(Timestamp(ticks))[:19] == iso[:19]


@pytest.mark.parametrize(
    ("ticks", "text"),
    [
        (0, "00:00:00"),
        (10_000_000, "00:00:01"),
        (600_000_000 * 90, "01:30:00"),
        (864_000_000_000 * 2 + 36_000_000_000, "2.01:00:00"),
        (5_000_000, "00:00:00.5000000"),
        (-600_000_000, "-00:01:00"),
        (1, "00:00:00.0000001"),
    ],
)
def test_interval_format(ticks: int, text: str) -> None:
    assert V.format_interval(TimeInterval(ticks)) == text


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Mon, 06 Oct 2014 10:20:00 GMT", "2014-10-06T10:20:00.000Z"),
        ("mon, 6 oct 2014 10:20:00 gmt", "2014-10-06T10:20:00.000Z"),
        ("Mon, 06 Oct 2014 10:20:00 +0200", "2014-10-06T08:20:00.000Z"),
        ("Mon, 06 Oct 2014 10:20:00 UTC", "2014-10-06T10:20:00.000Z"),
        ("2024-10-30T00:00:00.880011Z", "2024-10-30T00:00:00.880Z"),
        ("2024-10-30T00:00:00.9999999Z", "2024-10-30T00:00:00.999Z"),  # truncated, never rounded up
        ("2024-10-30T01:00:00+01:00", "2024-10-30T00:00:00.000Z"),
        ("2024-10-30T00:00Z", "2024-10-30T00:00:00.000Z"),
        ("2024-10-30T00:00:00", "2024-10-30T00:00:00.000Z"),  # no designator: UTC
        ("2024-10-30", "2024-10-30T00:00:00.000Z"),
        ("2024-10", "2024-10-01T00:00:00.000Z"),
        ("2024", "2024-01-01T00:00:00.000Z"),
        ("  2024-10-30T00:00:00Z  ", "2024-10-30T00:00:00.000Z"),
    ],
)
def test_time_parsing_accepts(text: str, iso: str) -> None:
    ticks = parse_time(text)
    assert ticks is not None
    assert V.format_timestamp(Timestamp(ticks)) == iso


@pytest.mark.parametrize(
    "text",
    [
        "Tue, 06 Oct 2014 10:20:00 GMT",  # the day name does not match the date
        "Mon, 06 Oct 2014 10:20 GMT",
        "Mon, 06 Oct 2014 10:20:00",  # RFC 1123 needs a zone
        "Mon, 32 Oct 2014 10:20:00 GMT",
        "2024-02-30T00:00:00Z",
        "2024-10-30T24:00:00Z",
        "2024-10-30T00:00:00.12345678Z",  # more than 7 fractional digits
        "2024-10-30 00:00:00Z",
        "30/10/2024",
        "now",
        "2024-10-30T00:00:00+25:00",
    ],
)
def test_time_parsing_rejects(text: str) -> None:
    assert parse_time(text) is None


def test_bad_time_string_is_a_positioned_error() -> None:
    r = evaluate('a = 1;\nt = time("13/03/2023");')
    assert r.error is not None and r.error.code == "FormulaEvaluationError"
    assert message(r).startswith('Line 2, Col 9: invalid time string "13/03/2023"; expected RFC 1123')
    assert r.results == P + ";a=1"


def test_empty_time_string_is_now() -> None:
    assert evaluate('same = time("") == time();').results == P + ";same=1"


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (2.5, 3.0),
        (-2.5, -3.0),
        (0.49999999999999994, 0.0),
        (1.5, 2.0),
        (-0.4, -0.0),
        (4503599627370497.0, 4503599627370497.0),
    ],
)
def test_round_half_away_from_zero(x: float, expected: float) -> None:
    r = V.round_half_away(x)
    assert r == expected and str(r) == str(expected)


_HUGE = "x = 1" + "0" * 308 + " * 10;"  # 1e308 * 10 overflows a double


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (_HUGE, f"Col {_HUGE.index('*') + 1}: arithmetic overflow: the result is not a finite number"),
        (
            "v = $ActiveTasks.GetSample(3) + $ActiveTasks.GetSample(2);",
            "Col 31: doubleVec operands have different lengths (3 and 2)",
        ),
        ("v = $ActiveTasks.GetSample(3) / 0;", "Col 31: division by zero"),
        (
            "p = percentile($ActiveTasks.GetSample(3), 101);",
            'Col 15: "percentile" needs a percentage between 0 and 100, got 101',
        ),
        ("m = min($RunningTasks.GetSample(3));", 'Col 8: "min" of an empty list'),
        ("t = time() + 20000 * TimeInterval_Year;", "Col 12: timestamp out of range (years 1 to 9999)"),
        ("l = lg($ActiveTasks.GetSample(3) - 2);", 'Col 7: "lg" needs values greater than 0, got -1'),
    ],
)
def test_other_runtime_failures_are_positioned(text: str, detail: str) -> None:
    r = evaluate(text, state(ActiveTasks=[1, 2, 3]))
    assert r.error is not None and r.error.code == "FormulaEvaluationError"
    assert message(r) == f"Line 1, {detail}"


def test_val_out_of_range_is_zero_and_truncates() -> None:
    text = "v = $ActiveTasks.GetSample(3); a = val(v, 0); b = val(v, 2.9); c = val(v, 3); d = val(v, -1);"
    assert evaluate(text, state(ActiveTasks=[4, 5, 6])).results == P + ";a=4;b=6;c=0;d=0;v=[4,5,6]"


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        ("0", None),
        ("2", None),
        ("3", '"val" index 3 is outside the doubleVec, which has 3 values'),
        ("-1", '"val" index -1 is outside the doubleVec, which has 3 values'),
        ("1.5", '"val" needs a whole-number index, got 1.5'),
    ],
)
def test_val_strict_mode(index: str, expected: str | None) -> None:
    st = state(ActiveTasks=[4, 5, 6])
    st.strict_index = True
    r = evaluate(f"a = 1;\nx = val($ActiveTasks.GetSample(3), {index});", st)
    if expected is None:
        assert r.error is None
    else:
        assert message(r) == f"Line 2, Col 8: {expected}"
        assert r.results == P + ";a=1"


def test_val_strict_mode_is_off_for_shipyards_formula() -> None:
    # SHIP's line 8 ran on a new pool: the default must not fail
    assert evaluate("lastsample = val($PendingTasks.GetSample(1), 0);").results == P + ";lastsample=0"


def test_percentile_nearest_rank() -> None:
    text = "v = $ActiveTasks.GetSample(5); a = percentile(v, 0); b = percentile(v, 50); c = percentile(v, 100); d = percentile(v, 90);"
    assert evaluate(text, state(ActiveTasks=[50, 10, 40, 20, 30])).results == (
        P + ";a=10;b=30;c=50;d=50;v=[50,10,40,20,30]"
    )


def test_rand_is_seeded_and_in_range() -> None:
    a = evaluate("r = rand(); s = rand();", state(seed=42))
    b = evaluate("r = rand(); s = rand();", state(seed=42))
    assert a.results == b.results
    r, s = a.variables["r"], a.variables["s"]
    assert 0.0 <= r < 1.0 and 0.0 <= s < 1.0 and r != s  # type: ignore[operator]
    assert evaluate("r = rand();", state(seed=43)).results != evaluate("r = rand();", state(seed=42)).results
