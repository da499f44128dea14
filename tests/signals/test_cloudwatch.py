"""The evaluator's CloudWatch semantics, each against the documentation's own example."""

from __future__ import annotations

import pytest

from cutover.rehearsal.cloudwatch import (
    ALARM,
    INSUFFICIENT,
    OK,
    Evaluator,
    MetricStore,
    Parser,
    decide,
    evaluate_math,
    evaluate_rule,
    rollback_rule,
)

X, O, _ = True, False, None


def _points(text: str) -> list:
    return [{"X": X, "0": O, "-": _}[c] for c in text.split()]


# "Using Amazon CloudWatch alarms", How alarm state is evaluated when data is missing:
# Datapoints to Alarm 3 of Evaluation Periods 3, evaluation range 5 (most recent right).
DOCS_3_OF_3 = [
    ("0 - X - X", {"missing": OK, "ignore": OK, "breaching": OK, "notBreaching": OK}),
    ("0 - - - -", {"missing": OK, "ignore": OK, "breaching": OK, "notBreaching": OK}),
    ("- - - - -", {"missing": INSUFFICIENT, "ignore": "keep", "breaching": ALARM, "notBreaching": OK}),
    ("0 X X - X", {"missing": ALARM, "ignore": ALARM, "breaching": ALARM, "notBreaching": ALARM}),
    ("- - X - -", {"missing": ALARM, "ignore": "keep", "breaching": ALARM, "notBreaching": OK}),
]
# The same page, 2 of 3 (an M of N alarm).
DOCS_2_OF_3 = [
    ("0 - X - X", {"missing": ALARM, "ignore": ALARM, "breaching": ALARM, "notBreaching": ALARM}),
    ("0 0 X 0 X", {"missing": ALARM, "ignore": ALARM, "breaching": ALARM, "notBreaching": ALARM}),
    ("0 - X - -", {"missing": OK, "ignore": OK, "breaching": ALARM, "notBreaching": OK}),
    ("- - - - 0", {"missing": OK, "ignore": OK, "breaching": ALARM, "notBreaching": OK}),
    ("- - - X -", {"missing": ALARM, "ignore": "keep", "breaching": ALARM, "notBreaching": OK}),
]


@pytest.mark.parametrize("m,table", [(3, DOCS_3_OF_3), (2, DOCS_2_OF_3)])
def test_missing_data_follows_the_documented_tables(m, table):
    for data, expected in table:
        for missing, state in expected.items():
            for current in (OK, ALARM):
                want = current if state == "keep" else state
                got = decide(_points(data), 3, m, missing, current)
                assert got == want, f"{data} {m}/3 {missing} from {current}: {got}, docs say {want}"


def test_the_first_row_of_the_docs_table_is_ok_because_one_of_the_last_three_is_not_breaching():
    assert decide(_points("X X 0 X X"), 3, 3, "missing", ALARM) == OK


def _series(values: list) -> dict:
    return {t * 60: v for t, v in enumerate(values) if v is not None}


SLOTS = [0, 60, 120, 180, 240]


def test_if_follows_the_documented_example():
    # "Using metric math", IF(metric1, metric2, metric3)
    env = {
        "metric1": _series([1, 1, 0, 0, None]),
        "metric2": _series([30, None, 0, 0, 30]),
        "metric3": _series([0, 0, 20, None, 20]),
    }
    out = evaluate_math(Parser("IF(metric1, metric2, metric3)").parse(), env, SLOTS)
    assert out == _series([30, 0, 20, None, None])
    out = evaluate_math(Parser("IF(metric1, 5, metric3)").parse(), env, SLOTS)
    assert out == _series([5, 5, 20, None, None])
    out = evaluate_math(Parser("IF(metric1, metric2, 5)").parse(), env, SLOTS)
    assert out == _series([30, 0, 5, 5, None])


def test_comparisons_treat_a_missing_value_as_zero_as_documented():
    env = {"metric1": _series([30, 20, 0, 0]), "metric2": _series([20, None, 20, None])}
    assert evaluate_math(Parser("(metric1 < metric2)").parse(), env, SLOTS[:4]) == _series([0, 0, 1, 0])
    assert evaluate_math(Parser("(metric1 >= 30)").parse(), env, SLOTS[:4]) == _series([1, 0, 0, 0])
    out = evaluate_math(Parser("(metric1 > 15 AND metric2 > 15)").parse(), env, SLOTS[:4])
    assert out == _series([1, 0, 0, 0])


def test_division_by_zero_drops_the_datapoint_and_missing_counts_as_zero():
    env = {"err": _series([1, 2, None, 4]), "req": _series([10, 0, 5, None])}
    assert evaluate_math(Parser("err / req").parse(), env, SLOTS[:4]) == {0: 0.1, 120: 0.0}
    assert evaluate_math(Parser("err + req").parse(), env, SLOTS[:4]) == _series([11, 2, 5, 4])


def test_fill_gives_every_datapoint_of_the_range_a_value():
    env = {"m": _series([None, 3, None])}
    assert evaluate_math(Parser("FILL(m, 0)").parse(), env, SLOTS[:3]) == _series([0, 3, 0])
    assert evaluate_math(Parser("FILL(m, 0)").parse(), {"m": {}}, SLOTS[:3]) == _series([0, 0, 0])


def test_precedence_and_unary_minus():
    env = {"a": _series([2])}
    assert evaluate_math(Parser("-a + 3 * a ^ 2 - 1").parse(), env, [0]) == {0: 9.0}
    assert evaluate_math(Parser("a > 1 AND a < 3 || a == 9").parse(), env, [0]) == {0: 1.0}


def test_composite_rules():
    states = {"a": ALARM, "b": OK}
    assert evaluate_rule(Parser(rollback_rule(["a", "b"])).parse(), states)
    assert not evaluate_rule(Parser('ALARM("a") AND NOT OK("b")').parse(), states)
    assert evaluate_rule(Parser('(ALARM("b") OR INSUFFICIENT_DATA("c")) AND TRUE').parse(), states)


# --- the evaluator over simulated time ----------------------------------------------------


def _document(**alarm) -> dict:
    base = {
        "name": "a", "role": "rollback", "threshold": 5, "comparison": "GreaterThanThreshold",
        "period": 60, "evaluation_periods": 1, "datapoints_to_alarm": 1, "treat_missing_data": "missing",
        "metrics": [{"id": "m", "namespace": "N", "metric_name": "M", "dimensions": {"D": "d"}, "stat": "Sum"}],
        "expressions": [{"id": "e", "expression": "m", "label": "m", "return_data": True}],
    }
    return {"rollback": {"name": "rollback", "members": ["k"]}, "alarms": {"k": {**base, **alarm}}}


def test_an_alarm_is_evaluated_every_minute_over_a_sliding_period():
    # "if the Period is 5 minutes and Evaluation Periods is 1, then at the end of minute 5
    # the alarm evaluates based on data from minutes 1 to 5 ... at the end of minute 6,
    # ... minutes 2 to 6"
    store = MetricStore()
    ev = Evaluator.from_document(_document(period=300, threshold=4), store)
    for minute in range(5):
        store.put("N", "M", {"D": "d"}, minute * 60 + 1, 1)
    ev.run_until(5 * 60)
    assert ev.state("a") == ALARM  # 5 > 4 over minutes 1-5
    ev.run_until(6 * 60)
    assert ev.state("a") == OK  # minutes 2-6 hold 4
    assert ev.first("a", ALARM) == 300 and ev.first("rollback", ALARM) == 300


def test_m_of_n_needs_m_breaching_minutes_within_the_last_n():
    store = MetricStore()
    ev = Evaluator.from_document(_document(evaluation_periods=5, datapoints_to_alarm=3), store)
    for minute, value in enumerate([9, 0, 9, 0, 0, 9, 0, 9, 9]):
        store.put("N", "M", {"D": "d"}, minute * 60, value)
    ev.run_until(8 * 60)
    assert ev.state("a") == OK  # 9 0 9 0 0 9 0 9: never 3 breaching within 5 minutes
    ev.run_until(9 * 60)
    assert ev.state("a") == ALARM  # minutes 4-8: 0 9 0 9 9
    # (no data before minute 0: INSUFFICIENT_DATA until the first datapoint)
    assert [(t.time_s, t.new) for t in ev.history if t.name == "a"] == [(60, OK), (540, ALARM)]


@pytest.mark.parametrize("missing,state", [("missing", INSUFFICIENT), ("notBreaching", OK), ("breaching", ALARM)])
def test_an_alarm_without_data_follows_treat_missing_data(missing, state):
    ev = Evaluator.from_document(_document(treat_missing_data=missing), MetricStore())
    ev.run_until(600)
    assert ev.state("a") == state


def test_ignore_keeps_the_state_while_data_is_missing():
    store = MetricStore()
    ev = Evaluator.from_document(_document(treat_missing_data="ignore"), store)
    store.put("N", "M", {"D": "d"}, 30, 9)
    ev.run_until(60)
    assert ev.state("a") == ALARM
    ev.run_until(3600)
    assert ev.state("a") == ALARM  # nothing since: kept


def test_an_alarm_over_more_than_a_day_is_refused():
    with pytest.raises(ValueError, match="over a day"):
        Evaluator.from_document(_document(period=3600, evaluation_periods=25), MetricStore())


def test_statistics_and_percentiles():
    store = MetricStore(keep_values_for=[("N", "Latency")])
    for i in range(1, 101):
        store.put("N", "Latency", {"Route": "canary"}, i % 60, float(i))
    assert store.statistic("N", "Latency", {"Route": "canary"}, 0, 60, "Sum") == 5050
    assert store.statistic("N", "Latency", {"Route": "canary"}, 0, 60, "SampleCount") == 100
    assert store.statistic("N", "Latency", {"Route": "canary"}, 0, 60, "Average") == 50.5
    assert store.statistic("N", "Latency", {"Route": "canary"}, 0, 60, "p95") == 95
    assert store.statistic("N", "Latency", {"Route": "canary"}, 0, 60, "Maximum") == 100
    assert store.statistic("N", "Latency", {"Route": "canary"}, 60, 120, "Sum") is None
    store.put("N", "Errors", {}, 0, 1)
    with pytest.raises(ValueError, match="not kept"):
        store.statistic("N", "Errors", {}, 0, 60, "p95")


def test_dimensions_may_be_given_in_any_order_or_presorted():
    store = MetricStore()
    store.put("N", "M", {"Release": "r", "Path": "p"}, 0, 1)
    store.put("N", "M", (("Path", "p"), ("Release", "r")), 1, 1)
    assert store.statistic("N", "M", {"Path": "p", "Release": "r"}, 0, 60, "Sum") == 2


@pytest.mark.parametrize("comparison,state", [("GreaterThanOrEqualToThreshold", ALARM), ("GreaterThanThreshold", OK)])
def test_a_value_equal_to_the_threshold_breaches_only_with_or_equal(comparison, state):
    # the sequential alarms compare `errors - b * samples` with a, GreaterThanOrEqualToThreshold
    store = MetricStore()
    ev = Evaluator.from_document(_document(threshold=5, comparison=comparison), store)
    store.put("N", "M", {"D": "d"}, 30, 5)
    ev.run_until(60)
    assert ev.state("a") == state


def test_the_evaluator_keeps_whom_each_rendered_alarm_judges():
    import json
    from pathlib import Path

    from cutover.rehearsal import seams

    rendered = Path(__file__).resolve().parents[2] / "terraform" / "envs" / "production" / "alarms.json"
    ev = seams.alarm_evaluator(rendered, seams.metric_store())
    judges = seams.alarm_judges(ev)
    document = json.loads(rendered.read_text())
    assert judges == {a["name"]: a["judges"] for a in document["alarms"].values()}
    assert set(judges.values()) == {"router", "candidate", "control"}
