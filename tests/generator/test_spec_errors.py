"""Invalid specs and the exact error each one gets (file:line: YAML path: message).

Each case edits one line of tests/data/base.release.yaml (a copy of the production
spec); the expected text is what the user sees, after the file name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.generator.spec.errors import SpecInvalid
from cutover.generator.spec.loader import load_spec

BASE = Path(__file__).parent.parent / "data" / "base.release.yaml"

PREDEFINED = "    predefined: CodeDeployDefault.LambdaCanary10Percent5Minutes\n"
CONTROLLER = "  controller:\n    enabled: true\n"  # at line 87, after PREDEFINED
GUARD = "guard:\n  function: {name: huntaze-guard}\n"  # the controller needs one

CASES = [
    # (id, old text, new text, expected error lines after "<file>:")
    ("unknown-field", "  owner: platform-team", "  owner: platform-team\n  colour: blue",
     ["8: release.colour: unknown field 'colour'; allowed here: environment, name, owner, region, tags"]),
    ("missing-owner", "  owner: platform-team\n", "",
     ["4: release.owner: is required"]),
    ("release-name", "  name: huntaze-prisma-migration", "  name: Huntaze",
     ["5: release.name: 'Huntaze' is not allowed; expected 3-40 characters of lowercase letters, digits and '-', starting with a letter"]),
    ("region", "  region: us-east-1\n  tags", "  region: useast1\n  tags",
     ["8: release.region: 'useast1' is not allowed; expected an AWS region code such as us-east-1"]),
    ("function-name", "      name: huntaze-mock-read", "      name: huntaze mock read",
     ["25: read_paths[0].control.name: 'huntaze mock read' is not allowed; expected 1-64 characters of letters, digits, '-' and '_'"]),
    ("function-name-length", "      name: huntaze-mock-read", "      name: " + "x" * 65,
     ["25: read_paths[0].control.name: '" + "x" * 65 + "' is not allowed; expected 1-64 characters of letters, digits, '-' and '_'"]),
    ("alias-all-digits", "    alias: live", "    alias: '123'",
     ["23: read_paths[0].alias: '123' is not allowed; expected 1-128 characters of letters, digits, '-' and '_', not all digits"]),
    ("old-runtime", "      memory_mb: 256", "      memory_mb: 256\n      runtime: python3.9",
     ["27: read_paths[0].control.runtime: 'python3.9' is not allowed; expected one of 'python3.12' or 'python3.13'"]),
    ("memory-range", "      memory_mb: 256", "      memory_mb: 64",
     ["26: read_paths[0].control.memory_mb: 64: input should be greater than or equal to 128"]),
    ("reserved-zero", "      reserved_concurrency: 100\n    candidate", "      reserved_concurrency: 0\n    candidate",
     ["29: read_paths[0].control.reserved_concurrency: 0: input should be greater than or equal to 1"]),
    ("flag-key-capital", "      flag_key: prisma-adapter", "      flag_key: Prisma_adapter",
     ["58: read_paths[0].canary.flag_key: 'Prisma_adapter' is not allowed; expected a lowercase letter, then up to 63 letters, digits, '-' or '_' (no '.')"]),
    ("flag-key-dot", "      flag_key: prisma-adapter", "      flag_key: prismaAdapter.enabled",
     ["58: read_paths[0].canary.flag_key: 'prismaAdapter.enabled' is not allowed; expected a lowercase letter, then up to 63 letters, digits, '-' or '_' (no '.')"]),
    ("steps-not-increasing", "      steps: [1, 5, 25, 50, 100]", "      steps: [1, 25, 5, 50, 100]",
     ["60: read_paths[0].canary.steps[2]: 5 does not follow 25; steps must be strictly increasing"]),
    ("steps-end", "      steps: [1, 5, 25, 50, 100]", "      steps: [1, 5, 25, 50]",
     ["60: read_paths[0].canary.steps: must end at 100 (the last step is 50)"]),
    ("percent-not-a-step", "      percent: 1", "      percent: 3",
     ["59: read_paths[0].canary.percent: 3 is not a planned step; allowed: 0, 1, 5, 25, 50, 100"]),
    ("percent-range", "      percent: 1", "      percent: 120",
     ["59: read_paths[0].canary.percent: 120: input should be less than or equal to 100"]),
    ("shadow-phase-with-canary", "phase: canary", "phase: shadow",
     ["59: read_paths[0].canary.percent: 1: the shadow phase keeps the canary at 0"]),
    ("complete-before-100", "phase: canary", "phase: complete",
     ["59: read_paths[0].canary.percent: 1: a complete release serves everyone from the candidate; ramp to 100 first"]),
    ("canary-phase-at-zero", "      percent: 1", "      percent: 0",
     ["19: phase: canary, but every read path is at 0%; use phase: shadow or set a canary.percent"]),
    ("unknown-phase", "phase: canary", "phase: ramping",
     ["19: phase: 'ramping' is not allowed; expected one of 'shadow', 'canary' or 'complete'"]),
    ("p95-go-above-no-go", "  p95_regression: {go_pct: 15, no_go_pct: 30}", "  p95_regression: {go_pct: 40, no_go_pct: 30}",
     ["90: guardrails.p95_regression.go_pct: 40 must be below no_go_pct (30)"]),
    ("shadow-go-above-no-go", "  shadow_diff: {go_pct: 0.5, no_go_pct: 1}", "  shadow_diff: {go_pct: 1, no_go_pct: 1}",
     ["91: guardrails.shadow_diff.go_pct: 1 must be below no_go_pct (1)"]),
    ("alarm-period", "  period_seconds: 60", "  period_seconds: 45",
     ["94: guardrails.period_seconds: 45 is not allowed; expected 10, 20, 30 or a multiple of 60"]),
    ("alarm-longer-than-a-day", "  evaluation_periods: 5", "  evaluation_periods: 1441",
     ["95: guardrails.evaluation_periods: 1441: input should be less than or equal to 1440"]),
    ("alarm-day-limit", "  period_seconds: 60", "  period_seconds: 21600",
     ["95: guardrails.evaluation_periods: 5 periods of 21600 s exceed one day (longer alarms are evaluated only once an hour)"]),
    ("datapoints", "  datapoints_to_alarm: 3", "  datapoints_to_alarm: 6",
     ["96: guardrails.datapoints_to_alarm: 6 must not exceed evaluation_periods (5)"]),
    ("p95-ceiling-zero", "  min_samples: 50", "  min_samples: 50\n  p95_ceiling_ms: 0",
     ["94: guardrails.p95_ceiling_ms: 0: input should be greater than 0"]),
    ("p95-ceiling-text", "  min_samples: 50", "  min_samples: 50\n  p95_ceiling_ms: 500ms",
     ["94: guardrails.p95_ceiling_ms: '500ms': input should be a valid number, unable to parse string as a number"]),
    ("confidence-certain", "  min_samples: 50", "  min_samples: 50\n  confidence: 1",
     ["94: guardrails.confidence: 1: input should be less than or equal to 0.999"]),
    ("confidence-low", "  min_samples: 50", "  min_samples: 50\n  confidence: 0.5",
     ["94: guardrails.confidence: 0.5: input should be greater than or equal to 0.8"]),
    ("expected-rate-missing", "  expected_requests_per_minute: 100\n", "",
     ["88: guardrails.expected_requests_per_minute: is required"]),
    ("expected-rate-too-low", "  expected_requests_per_minute: 100", "  expected_requests_per_minute: 1",
     ["60: read_paths[0].canary.steps[0]: a 1% canary is 14.4 requests a day at guardrails.expected_requests_per_minute 1, but an error-rate alarm must expect at least 52 (what guardrails.sequential needs to tell a 10% failure from a healthy route, with room to spare) within a day, the longest window CloudWatch evaluates every minute: raise the rate or this value, or guardrails.sequential.failing_error_rate_pct"]),
    ("shadow-sample-too-low", "      sample_rate: 0.1", "      sample_rate: 0.0001",
     ["49: read_paths[0].shadow.sample_rate: a 0.0001 shadow sample is 14.256 requests a day at guardrails.expected_requests_per_minute 100, but an error-rate alarm must expect at least 52 (what guardrails.sequential needs to tell a 10% failure from a healthy route, with room to spare) within a day, the longest window CloudWatch evaluates every minute: raise the rate or this value, or guardrails.sequential.failing_error_rate_pct"]),
    ("sequential-healthy-above-failing", "  expected_requests_per_minute: 100\n",
     "  expected_requests_per_minute: 100\n  sequential: {healthy_error_rate_pct: 20}\n",
     ["99: guardrails.sequential.healthy_error_rate_pct: 20 must be below failing_error_rate_pct (10)"]),
    ("min-errors-above-min-samples", "  min_samples: 50", "  min_samples: 50\n  min_errors: 60",
     ["94: guardrails.min_errors: 60 must not exceed min_samples (50)"]),
    ("database-without-vpc", "      subnet_ids: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]\n", "",
     ["36: read_paths[0].database.subnet_ids: a database implies a VPC for the candidate: list at least one subnet id"]),
    ("duplicate-function", "    name: huntaze-cleanup", "    name: huntaze-mock-read",
     ["68: cleanup.function.name: 'huntaze-mock-read' is already used by read_paths[0].control.name; function names must be unique"]),
    ("duplicate-flag-key", "      flag_key: prisma-adapter", "      flag_key: prisma-shadow",
     ["48: read_paths[0].shadow.flag_key: 'prisma-shadow' is already used by read_paths[0].canary.flag_key; flag keys must be unique"]),
    ("appconfig-gradual-rollout", "    poll_interval_s: 45", "    growth_factor: 20",
     [("82: delivery.appconfig.growth_factor: flags roll out all at once; remove it. AppConfig moves "
      "execution environments, not users, so a gradual rollout would flip users between control and "
      "candidate (final_bake_minutes keeps the bake)")]),
    ("appconfig-bake", "    final_bake_minutes: 10", "    final_bake_minutes: 1441",
     ["83: delivery.appconfig.final_bake_minutes: 1441: input should be less than or equal to 1440"]),
    ("codedeploy-unknown", "    predefined: CodeDeployDefault.LambdaCanary10Percent5Minutes", "    predefined: CodeDeployDefault.LambdaCanary50Percent",
     ["86: delivery.codedeploy.predefined: 'CodeDeployDefault.LambdaCanary50Percent' is not allowed; expected one of 'CodeDeployDefault.LambdaAllAtOnce', 'CodeDeployDefault.LambdaCanary10Percent5Minutes', 'CodeDeployDefault.LambdaCanary10Percent10Minutes', 'CodeDeployDefault.LambdaCanary10Percent15Minutes', 'CodeDeployDefault.LambdaCanary10Percent30Minutes', 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute', 'CodeDeployDefault.LambdaLinear10PercentEvery2Minutes', 'CodeDeployDefault.LambdaLinear10PercentEvery3Minutes' or 'CodeDeployDefault.LambdaLinear10PercentEvery10Minutes'"]),
    ("codedeploy-both", "    predefined: CodeDeployDefault.LambdaCanary10Percent5Minutes",
     "    predefined: CodeDeployDefault.LambdaCanary10Percent5Minutes\n    custom: {type: TimeBasedCanary, percentage: 10, interval_minutes: 5}",
     ["87: delivery.codedeploy.custom: set either predefined or custom, not both"]),
    ("codedeploy-custom-type", "    predefined: CodeDeployDefault.LambdaCanary10Percent5Minutes",
     "    custom: {type: AllAtOnce, percentage: 10, interval_minutes: 5}",
     ["86: delivery.codedeploy.custom.type: 'AllAtOnce' is not allowed; expected one of 'TimeBasedCanary' or 'TimeBasedLinear'"]),
    ("secret-in-env", "      reserved_concurrency: 100\n    database", "      reserved_concurrency: 100\n      environment: {DB_PASSWORD: hunter2}\n    database",
     ["36: read_paths[0].candidate.environment.DB_PASSWORD: looks like a secret; secrets never go in environment variables (use IAM auth, or read them from Secrets Manager at run time)"]),
    ("reserved-env", "      reserved_concurrency: 100\n    database", "      reserved_concurrency: 100\n      environment: {CUTOVER_PATH: x}\n    database",
     ["36: read_paths[0].candidate.environment.CUTOVER_PATH: 'CUTOVER_PATH' is reserved (prefixes CUTOVER_, AWS_, LAMBDA_, _); cutover and Lambda set these"]),
    ("log-retention", "  log_retention_days: 365", "  log_retention_days: 100",
     ["104: observability.log_retention_days: 100 is not a CloudWatch Logs retention; allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"]),
    ("checkov-skip-without-reason", "  checkov_skips: []", "  checkov_skips:\n    - id: CKV_AWS_117",
     ["111: security.checkov_skips[0].reason: is required"]),
    ("checkov-skip-id", "  checkov_skips: []", "  checkov_skips:\n    - {id: AWS_117, reason: the router needs no VPC access at all}",
     ["111: security.checkov_skips[0].id: 'AWS_117' is not allowed; expected a checkov AWS check id such as CKV_AWS_117"]),
    ("dynamodb-without-table", "  locking: s3_lockfile", "  locking: dynamodb",
     ["13: backend.dynamodb_table: is required when locking is dynamodb"]),
    ("canary-timeout", "      timeout_ms: 1500", "      timeout_ms: 10000",
     ["63: read_paths[0].canary.timeout_ms: 10000 must be below the control's timeout (10 s): the router waits for the candidate within its own time"]),
    ("personal-not-redacted", '        redact_paths: ["$.email", "$.displayName"]', '        redact_paths: ["$.displayName"]',
     ["56: read_paths[0].shadow.compare.redact_paths: add $.email: it is personal in the read model (example/user-profile/read-model.schema.json, x-cutover-personal), and unredacted it travels in clear in every shadow event and dead-letter message"]),
    ("redact-path-names-nothing", '        redact_paths: ["$.email", "$.displayName"]', '        redact_paths: ["$.email", "$.displayName", "$.profile.phone"]',
     ["56: read_paths[0].shadow.compare.redact_paths[2]: '$.profile.phone' cannot exist in the read model (example/user-profile/read-model.schema.json): no .profile after $; allowed after $: .createdAt, .displayName, .email, .items, .plan, .userId"]),
    ("json-path", '        unordered_lists: ["$.items"]', '        unordered_lists: ["items"]',
     ["55: read_paths[0].shadow.compare.unordered_lists[0]: 'items' is not allowed; expected a JSON path such as $.items[*].price ($, .key, [*] or [N])"]),
    ("sample-rate", "      sample_rate: 0.1", "      sample_rate: 10",
     ["49: read_paths[0].shadow.sample_rate: 10: input should be less than or equal to 1"]),
    ("shadow-age", "      timeout_ms: 500", "      timeout_ms: 500\n      max_event_age_s: 30",
     ["51: read_paths[0].shadow.max_event_age_s: 30: input should be greater than or equal to 60"]),
    ("duplicate-key", "  owner: platform-team", "  owner: platform-team\n  owner: someone",
     ["8: release.owner: duplicate key 'owner' (first at line 7)"]),
    ("bad-yaml", "  owner: platform-team", "  owner: [platform-team",
     ["8: (document): not valid YAML: expected ',' or ']', but got ':'"]),
    ("wrong-type", "  keep_versions: 5", "  keep_versions: five",
     ["73: cleanup.keep_versions: 'five': input should be a valid integer, unable to parse string as an integer"]),
    ("vpc-endpoints-without-route-tables", "route_table_ids: [rtb-0a1b2c3d4e5f60004]}", "}",
     [("39: read_paths[0].database.vpc_endpoints.route_table_ids: list the route tables of the candidate's "
      "subnets: the DynamoDB gateway endpoint is added to them")]),
    ("vpc-endpoints-existing-without-vpc", "{mode: create, vpc_id: vpc-0a1b2c3d4e5f60000, route_table_ids: [rtb-0a1b2c3d4e5f60004]}",
     "{mode: existing}",
     ["39: read_paths[0].database.vpc_endpoints.vpc_id: is required with mode existing: the VPC of the candidate's subnets"]),
    ("read-paths-empty", "read_paths:\n  - name: user-read", "read_paths: []\nunused:\n  - name: user-read",
     ["21: read_paths: list: list should have at least 1 item after validation, not 0",
      "22: unused: unknown field 'unused'; allowed here: backend, cleanup, cost, delivery, guard, guardrails, observability, phase, read_paths, release, security"]),
    ("brake-renamed", "  keep_versions: 5", "  keep_versions: 5\nbrake:\n  function: {name: huntaze-brake}",
     [("74: brake: 'brake' was renamed to guard: write `guard:` with the same `function:` (the level-triggered "
       "guard replaces the brake; docs/functions.md)")]),
    ("controller-needs-guard", PREDEFINED, PREDEFINED + "  controller:\n    enabled: true\n",
     [("88: delivery.controller.enabled: the controller relies on the guard to turn the canary off: add a "
       "guard section (guard.function) or set it to false")]),
    ("controller-enabled-required", PREDEFINED, PREDEFINED + "  controller: {approval: false}\n" + GUARD,
     ["87: delivery.controller.enabled: is required"]),
    ("controller-schedule", PREDEFINED, PREDEFINED + CONTROLLER + "    schedule: every hour\n" + GUARD,
     ["89: delivery.controller.schedule: 'every hour' is not allowed; expected an EventBridge schedule: rate(N unit) or cron(...)"]),
    ("controller-unknown-field", PREDEFINED, PREDEFINED + CONTROLLER + "    approvals: true\n" + GUARD,
     [("89: delivery.controller.approvals: unknown field 'approvals'; allowed here: approval, "
       "approval_timeout_hours, enabled, function, max_holds, observe_minutes, schedule, state_machine_name")]),
    ("controller-max-holds", PREDEFINED, PREDEFINED + CONTROLLER + "    max_holds: 21\n" + GUARD,
     ["89: delivery.controller.max_holds: 21: input should be less than or equal to 20"]),
    ("controller-approval-timeout", PREDEFINED, PREDEFINED + CONTROLLER + "    approval_timeout_hours: 0\n" + GUARD,
     ["89: delivery.controller.approval_timeout_hours: 0: input should be greater than or equal to 1"]),
    ("controller-state-machine-name", PREDEFINED, PREDEFINED + CONTROLLER + "    state_machine_name: my machine\n" + GUARD,
     ["89: delivery.controller.state_machine_name: 'my machine' is not allowed; expected 1-80 characters of letters, digits, '-' and '_'"]),
    ("controller-function-name", PREDEFINED, PREDEFINED + CONTROLLER + "    function: {name: huntaze-cleanup}\n" + GUARD,
     [("89: delivery.controller.function.name: 'huntaze-cleanup' is already used by cleanup.function.name; "
       "function names must be unique")]),
    ("guard-runs-one-at-a-time", "  keep_versions: 5",
     "  keep_versions: 5\nguard:\n  function: {name: huntaze-guard, reserved_concurrency: 2}",
     [("75: guard.function.reserved_concurrency: 2 is not allowed; the guard runs one at a time (reserved "
       "concurrency 1, set by cutover): leave it out or set 1")]),
]


def _write(tmp_path: Path, old: str, new: str) -> Path:
    text = BASE.read_text()
    assert text.count(old) >= 1, f"case does not apply: {old!r}"
    spec = tmp_path / "case.release.yaml"
    spec.write_text(text.replace(old, new, 1))
    return spec


def test_the_base_spec_is_valid():
    assert load_spec(BASE).release.name == "huntaze-prisma-migration"


@pytest.mark.parametrize("old,new,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_gets_its_exact_error(tmp_path, old, new, expected):
    spec = _write(tmp_path, old, new)
    with pytest.raises(SpecInvalid) as exc:
        load_spec(spec)
    got = [e.render(spec).removeprefix(f"{spec}:") for e in exc.value.errors]
    assert got == expected


def test_all_errors_are_reported_at_once(tmp_path):
    text = BASE.read_text()
    for old, new in (
        ("  name: huntaze-prisma-migration", "  name: Huntaze"),
        ("      memory_mb: 256", "      memory_mb: 64"),
        ("      steps: [1, 5, 25, 50, 100]", "      steps: [1, 5, 25, 50]"),
        ("  period_seconds: 60", "  period_seconds: 45"),
    ):
        text = text.replace(old, new, 1)
    spec = tmp_path / "many.release.yaml"
    spec.write_text(text)
    with pytest.raises(SpecInvalid) as exc:
        load_spec(spec)
    report = exc.value.report()
    assert report.splitlines()[0] == f"{spec}: 4 errors in the release spec; nothing was written"
    assert [e.line for e in exc.value.errors] == [5, 26, 60, 94]


def test_an_empty_file_is_a_clear_error(tmp_path):
    spec = tmp_path / "empty.release.yaml"
    spec.write_text("# nothing here\n")
    with pytest.raises(SpecInvalid, match="the file is empty; expected a release spec mapping"):
        load_spec(spec)


def test_yes_and_no_stay_strings(tmp_path):
    """YAML 1.1 would read `owner: no` as false; a spec means the string."""
    spec = _write(tmp_path, "  owner: platform-team", "  owner: no")
    assert load_spec(spec).release.owner == "no"


def _load_edited(tmp_path: Path, *edits: tuple[str, str]) -> list[str]:
    """The rendered errors of the base spec with every (old, new) edit applied once."""
    text = BASE.read_text()
    for old, new in edits:
        assert old in text, f"edit does not apply: {old!r}"
        text = text.replace(old, new, 1)
    spec = tmp_path / "case.release.yaml"
    spec.write_text(text)
    with pytest.raises(SpecInvalid) as exc:
        load_spec(spec)
    return [e.render(spec).removeprefix(f"{spec}:") for e in exc.value.errors]


def test_a_controller_that_asks_needs_someone_to_hear_the_question(tmp_path):
    got = _load_edited(tmp_path, (PREDEFINED, PREDEFINED + CONTROLLER + "    approval: true\n" + GUARD),
                       ("  notifications:\n    emails: [oncall@huntaze.example]\n", ""))
    assert got == [("89: delivery.controller.approval: true, but nobody would hear the question: add "
                    "observability.notifications.emails or topic_arns, or set it to false (the controller "
                    "then notifies and stops)")]


def test_a_complete_release_refuses_the_controller(tmp_path):
    got = _load_edited(tmp_path, ("phase: canary", "phase: complete"), ("      percent: 1", "      percent: 100"),
                       (PREDEFINED, PREDEFINED + CONTROLLER + GUARD))
    assert got == [("88: delivery.controller.enabled: a complete release has no canary left to ramp: set it to "
                    "false or remove delivery.controller (the controller runs in phase shadow or canary)")]


def test_the_controller_observes_at_least_one_metric_period(tmp_path):
    got = _load_edited(tmp_path, (PREDEFINED, PREDEFINED + CONTROLLER + "    observe_minutes: 1\n" + GUARD),
                       ("  period_seconds: 60", "  period_seconds: 120"))
    assert got == [("89: delivery.controller.observe_minutes: 1 minutes is shorter than one metric period "
                    "(guardrails.period_seconds 120): the judgement would see no whole period")]


def test_a_disabled_controller_asks_for_nothing(tmp_path):
    spec = _write(tmp_path, PREDEFINED, PREDEFINED + "  controller: {enabled: false, approval: true}\n")
    assert load_spec(spec).delivery.controller.enabled is False


def test_a_controller_with_a_guard_is_valid_with_its_defaults(tmp_path):
    controller = load_spec(_write(tmp_path, PREDEFINED, PREDEFINED + CONTROLLER + GUARD)).delivery.controller
    assert (controller.schedule, controller.approval, controller.observe_minutes, controller.max_holds,
            controller.approval_timeout_hours, controller.function.timeout_s) == (None, False, 60, 3, 24, 60)


def test_a_bad_controller_exits_2_with_its_location(tmp_path, capsys):
    from cutover import cli

    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    text = BASE.read_text().replace(PREDEFINED, PREDEFINED + CONTROLLER + "    schedule: hourly\n" + GUARD, 1)
    (project / "config" / "production.release.yaml").write_text(text)
    assert cli.main(["--root", str(project), "render", "--env", "production"]) == 2
    assert "89: delivery.controller.schedule: 'hourly' is not allowed" in capsys.readouterr().err
