"""Where the rehearsal meets the parts other packages own. One function each, so that
the only coupling is here:

* the CloudWatch alarm evaluator and metric store (`rehearsal.cloudwatch`), reading the
  rendered `terraform/envs/<env>/alarms.json` — the same file the Terraform creates the
  alarms from;
* the go/no-go analysis (`analysis.load_metrics` / `analysis.analyze`, the code behind
  `cutover analyze`) with the guardrails of the spec;
* the HTML report renderer (`rehearsal.report.render_html`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class AlarmEvaluator(Protocol):
    def evaluate(self, now_s: int) -> None: ...

    def state(self, name: str) -> str: ...


def metric_store() -> Any:
    from rehearsal.cloudwatch import MetricStore

    return MetricStore()


def alarm_evaluator(alarms_file: Path, store: Any) -> Any:
    from rehearsal.cloudwatch import Evaluator

    return Evaluator.from_file(alarms_file, store)


def alarm_roles(evaluator: Any) -> dict[str, str]:
    """Alarm name -> role (rollback / notify / member), the composite included."""
    roles = {alarm.name: "member" if alarm.role == "rollback" else alarm.role
             for alarm in evaluator.alarms.values()}
    roles[evaluator.composite_name] = "rollback"
    return roles


def alarm_judges(evaluator: Any) -> dict[str, str]:
    """Metric alarm name -> whose code or route its breach blames (router / candidate /
    control): a CodeDeploy stand-in's group watches the rollback members judging its function."""
    return {alarm.name: alarm.judges for alarm in evaluator.alarms.values()}


def alarm_metrics(evaluator: Any) -> set[tuple[str, str]]:
    """(namespace, metric name) of every metric some alarm reads."""
    return {(q.namespace, q.metric_name) for alarm in evaluator.alarms.values() for q in alarm.metrics}


def rollback_name(evaluator: Any) -> str:
    return evaluator.composite_name


def go_no_go(metrics_document: dict[str, Any], spec: Any) -> Any:
    """The analysis of one step's window: ``.verdict`` and ``.checks``; ``.to_json()``."""
    import analysis
    from generator.analysis_guardrails import analysis_guardrails

    return analysis.analyze(analysis.load_metrics(metrics_document), analysis_guardrails(spec.guardrails))


def render_html(report: dict[str, Any], out_dir: Path) -> Path:
    from rehearsal.report import render_html as render

    return render(report, out_dir)
