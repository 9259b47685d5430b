"""Scenario files: every key, the built-ins, and positioned diagnostics for bad input."""

from __future__ import annotations

import pytest

from batchspec.sim.scenario import (
    BUILTIN_SCENARIOS,
    Burst,
    Diurnal,
    Replay,
    Stream,
    format_duration,
    load_builtin,
    parse_duration,
    parse_rate,
    parse_scenario,
)
from batchspec.sim.workloads import diurnal_rate, generate
from tests.simulate.conftest import scenario


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("PT5M", 300),
        ("PT15M", 900),
        ("P1D", 86400),
        ("P1DT2H", 93600),
        ("PT0.5S", 0.5),
        ("90", 90),
        ("1.5h", 5400),
        ("250ms", 0.25),
        ("1w", 604800),
        ("pt6m", 360),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m5", "P", "PT", "5 minutes", "-5m", "1h-2m", "P1DT"])
def test_bad_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_rates_and_duration_format() -> None:
    assert parse_rate("30/h") == pytest.approx(30 / 3600)
    assert parse_rate("0.05/h") == pytest.approx(0.05 / 3600)
    assert parse_rate("2/m") == pytest.approx(2 / 60)
    assert parse_rate("100/d") == pytest.approx(100 / 86400)
    assert parse_rate("30") is None and parse_rate("30/x") is None
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0s"
    assert format_duration(86400 + 61) == "1d1m1s"


def test_issue_example_scenario() -> None:
    text = """
duration: 8h
evaluation_interval: PT5M           # default: the pool spec's, else PT15M
seed: 1
pool:                               # defaults for anything the formula/pool spec does not say
  task_slots_per_node: 2
  allocation_delay: {dedicated: 4m, low_priority: 6m}
  preemption_rate: 0.05/h
  max_dedicated: 20
  max_low_priority: 50
  price_per_hour: {dedicated: 0.096, low_priority: 0.019}
workload:
  - at: 10m            # a burst
    tasks: 200
    duration: 5m
  - rate: 30/h         # a stream (poisson)
    from: 1h
    until: 3h
    duration: {lognormal: {median: 3m, sigma: 0.5}}
  - replay: jobs.csv   # submit_time,duration[,slots]
"""
    sc = scenario(text, files={"jobs.csv": "submit_time,duration,slots\n0,60\n90,5m,2\n# note\n3600,30s\n"})
    assert sc.duration_s == 8 * 3600 and sc.evaluation_interval_s == 300 and sc.seed == 1
    assert sc.pool.task_slots_per_node == 2
    assert sc.pool.allocation_delay_dedicated.a == 240 and sc.pool.allocation_delay_low_priority.a == 360
    assert sc.pool.preemption_rate_per_s == pytest.approx(0.05 / 3600)
    assert (sc.pool.max_dedicated, sc.pool.max_low_priority) == (20, 50)
    assert (sc.pool.price_dedicated, sc.pool.price_low_priority) == (0.096, 0.019)
    burst, stream, replay = sc.workload
    assert isinstance(burst, Burst) and burst.tasks == 200 and burst.at_s == 600 and burst.duration.a == 300
    assert isinstance(stream, Stream) and stream.from_s == 3600 and stream.until_s == 3 * 3600
    assert stream.duration.kind == "lognormal" and stream.duration.b == 0.5
    assert isinstance(replay, Replay) and replay.submit_s == (0, 90, 3600) and replay.slots == (1, 2, 1)
    assert replay.duration_s == (60, 300, 30)
    wl = generate(sc)
    assert wl.submit_s == tuple(sorted(wl.submit_s))
    n_stream = sum(1 for t in wl.submit_s if 3600 < t <= 3 * 3600 and t not in (3600,))
    assert 30 < n_stream < 100  # about 60 expected
    assert len(wl) == 200 + 3 + n_stream


def test_replay_timestamps_are_rebased() -> None:
    sc = scenario(
        "duration: 1h\nworkload: [{replay: j.csv}]",
        files={"j.csv": "2024-05-01T10:00:30Z,60\n2024-05-01T10:00:00Z,30\n"},
    )
    (replay,) = sc.workload
    assert isinstance(replay, Replay) and replay.submit_s == (30, 0)


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_builtins_parse_and_generate(name: str) -> None:
    sc = load_builtin(name)
    assert sc.name == name and sc.description
    assert sc.evaluation_interval_s is None  # the pool's interval is used
    assert len(generate(sc)) > 0


def test_diurnal_rate_peaks_at_peak_time() -> None:
    sc = load_builtin("diurnal")
    (item,) = sc.workload
    assert isinstance(item, Diurnal)
    midnight = sc.start.timestamp()
    assert diurnal_rate(item, midnight + 14 * 3600) == pytest.approx(item.peak_per_s)
    assert diurnal_rate(item, midnight + 2 * 3600) == pytest.approx(item.trough_per_s)
    wl = generate(sc)
    afternoon = sum(1 for t in wl.submit_s if 12 * 3600 <= t % 86400 < 16 * 3600)
    night = sum(1 for t in wl.submit_s if 0 <= t % 86400 < 4 * 3600)
    assert afternoon > 5 * night


def _diags(text: str, files: dict[str, str] | None = None) -> list[tuple[str, int, int, str]]:
    def read(rel: str) -> tuple[str, str]:
        if files is None or rel not in files:
            raise FileNotFoundError(2, "No such file or directory")
        return rel, files[rel]

    sc, diags = parse_scenario(text, "s.yaml", read)
    assert sc is None
    return [(d.code, d.span.start.line, d.span.start.col, d.message) for d in diags]


def test_unknown_key_with_suggestion() -> None:
    sc, diags = parse_scenario("duration: 1h\nworkload: []\npool:\n  max_dedicted: 3\n", "s.yaml")
    assert sc is None
    (d,) = diags
    assert (d.code, d.span.start.line, d.span.start.col) == ("SM102", 4, 3)
    assert d.message == 'unknown key "max_dedicted" in "pool"'
    assert d.hint == 'did you mean "max_dedicated"?'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("duration: 5x\nworkload: []", ("SM103", 1, 11, '"duration" is not a duration: "5x"')),
        (
            "duration: 1h\nevaluation_interval: 1m\nworkload: []",
            (
                "SM103",
                2,
                22,
                '"evaluation_interval" must be between 5m and 168h (the service rejects other values), '
                "got 1m",
            ),
        ),
        ("workload: []", ("SM104", 1, 1, 'scenario has no "duration"')),
        ("duration: 1h", ("SM104", 1, 1, 'scenario has no "workload"')),
        (
            "duration: 1h\nworkload:\n  - tasks: 3\n",
            (
                "SM104",
                3,
                5,
                '"workload[0]" needs exactly one of "at" (a burst), "rate" (a Poisson stream), "diurnal" or "replay"',
            ),
        ),
        (
            "duration: 1h\nworkload:\n  - {rate: 30, duration: 1m}",
            ("SM103", 3, 12, '"workload[0].rate" is not a rate: "30"'),
        ),
        (
            "duration: 1h\nworkload:\n  - {at: 0s, tasks: -1, duration: 1m}",
            ("SM103", 3, 21, '"workload[0].tasks" must be >= 1 and <= 5e+06, got "-1"'),
        ),
        (
            "duration: 1h\nworkload:\n  - {at: 0s, tasks: 2}",
            ("SM104", 3, 5, '"workload[0]" has no task "duration"'),
        ),
        (
            "duration: 1h\npool: {task_scheduling: fill}\nworkload: []",
            ("SM103", 2, 25, '"pool.task_scheduling" must be pack or spread, got "fill"'),
        ),
        (
            "duration: [1h\n",
            ("SM101", 2, 1, "scenario is not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ),
        ("- 1\n- 2\n", ("SM103", 1, 1, '"scenario" must be a mapping, got a list')),
        ("", ("SM104", 1, 1, 'scenario is empty; it needs at least "duration" and "workload"')),
        (
            "duration: 1h\nworkload: [{rate: 1/h, from: 2h, until: 1h, duration: 1m}]",
            ("SM103", 2, 41, '"workload[0].until" must be later than "workload[0].from"'),
        ),
        (
            "duration: 1h\nworkload: [{at: 0s, tasks: 1, duration: {lognormal: {median: 3m}}}]",
            ("SM104", 2, 53, '"workload[0].duration.lognormal" needs sigma'),
        ),
        (
            "duration: 1h\nduration: 2h\nworkload: []",
            ("SM103", 2, 1, 'duplicate key "duration" in "scenario"'),
        ),
        (
            "duration: 1h\nworkload: [{replay: nope.csv}]",
            ("SM105", 2, 21, 'cannot read replay file "nope.csv": No such file or directory'),
        ),
        (
            "duration: 1h\nworkload: [{at: 0s, tasks: 100000000, duration: 1m}]",
            ("SM103", 2, 28, '"workload[0].tasks" must be >= 1 and <= 5e+06, got "100000000"'),
        ),
    ],
)
def test_positioned_errors(text: str, expected: tuple[str, int, int, str]) -> None:
    assert _diags(text)[0] == expected


def test_replay_errors_point_into_the_csv() -> None:
    diags = _diags(
        "duration: 1h\nworkload: [{replay: j.csv}]",
        {"j.csv": "submit_time,duration\n0,60\n30,abc\nxyz,10\n5,6,7,8\n"},
    )
    assert diags == [
        ("SM105", 3, 4, 'invalid duration (seconds or a duration such as 5m): "abc"'),
        ("SM105", 4, 1, 'invalid submit_time (seconds, a duration such as 5m, or an ISO timestamp): "xyz"'),
        ("SM105", 5, 1, "replay row has 4 fields; expected submit_time,duration[,slots]"),
    ]


def test_alias_bomb_is_rejected() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += ["duration: 1h", "workload: []"]
    diags = _diags("\n".join(lines))
    assert diags[0][0] == "SM101" and "too large" in diags[0][3]


def test_many_errors_are_all_reported() -> None:
    diags = _diags("duration: x\nseed: y\npool: {max_dedicated: -1, start_task: q}\nworkload: []")
    assert [d[0] for d in diags] == ["SM103"] * 4


def test_too_many_samples_is_rejected() -> None:
    diags = _diags("duration: 300d\nmetrics: {period: 1s}\nworkload: [{at: 0s, tasks: 1, duration: 1m}]")
    assert diags == [
        ("SM103", 2, 19, "300d at one sample every 1s is 25,920,000 samples; the limit is 2,000,000")
    ]


def test_burst_over_a_window_and_weekend_factor() -> None:
    sc = scenario("duration: 1h\nworkload: [{at: 10m, tasks: 4, over: 4m, duration: 1m}]")
    assert generate(sc).submit_s == (600, 660, 720, 780)
    weekly = scenario("""
duration: 7d
start: 2024-01-01T00:00:00Z
workload:
  - diurnal: {peak: 100/h, trough: 100/h, weekend_factor: 0.1}
    duration: 1m
""")
    wl = generate(weekly)
    weekday = sum(1 for t in wl.submit_s if t < 5 * 86400) / 5
    weekend = sum(1 for t in wl.submit_s if t >= 5 * 86400) / 2
    assert 2000 < weekday < 2800 and 150 < weekend < 330  # 2400/day on weekdays, a tenth at the weekend


def test_workload_does_not_depend_on_other_items() -> None:
    one = scenario("duration: 2h\nworkload: [{rate: 30/h, duration: 1m}]")
    two = scenario("duration: 2h\nworkload: [{rate: 30/h, duration: 1m}, {at: 1h, tasks: 5, duration: 1m}]")
    a = generate(one).submit_s
    b = [t for t in generate(two).submit_s if t != 3600]
    assert list(a) == b
