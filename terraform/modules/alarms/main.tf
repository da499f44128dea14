# Rollback signals of one release environment. Per read path: error rates
# (candidate alias, router alias, served answers), p95 latency of the candidate
# against the control, shadow-diff rate and canary share; then one composite
# alarm that ORs them all and is the single rollback signal that CodeDeploy
# (deployment group alarms) and AppConfig (environment monitors) watch.
#
# Every rate is metric math with a minimum-sample guard:
#   IF(samples >= min_samples, <rate>, 0)
# so that a quiet period is "inconclusive" and reads as 0 instead of a noisy
# ratio of two small numbers (a single error out of 3 requests is not 33%).
# Inputs are wrapped in FILL(m, 0): a period with traffic but no Errors
# datapoint (no error emitted) is 0 errors, not a dropped datapoint.
#
# treat_missing_data (from the spec's guardrails, per alarm kind). The choice
# the spec should make, and why, for each:
# - No traffic: the guard above already yields 0 for any period in which one of
#   the inputs exists, so an idle path does not fire a false rollback. A period
#   with no datapoint at all (no metric published in the window) is decided by
#   treat_missing_data; "notBreaching" keeps an idle path green.
# - A real failure cannot hide behind missing data: a failing invocation still
#   publishes Invocations and Errors (AWS/Lambda), and a router that crashes
#   before emitting its EMF Requests still shows in the router-alias error rate
#   (AWS/Lambda), which does not depend on the function's own telemetry.
# - "breaching" would roll back every deployment made during a quiet hour;
#   "missing" (the default) leaves the alarm in INSUFFICIENT_DATA, which neither
#   CodeDeploy nor a composite ALARM() rule treats as a failure - the same
#   effect as notBreaching but with a less readable state.
# The example (terraform/examples/complete) therefore uses "notBreaching" for
# all four kinds.

locals {
  g = var.guardrails

  emf_dims = { for p, _ in var.paths : p => { Release = var.release, Path = p } }

  # One entry per alarm; the resource below is generic over this map.
  # metric_query entries all have the same attributes (null where unused) so
  # that the conditional lists unify to one type.
  alarm_list = flatten([
    for p, cfg in var.paths : concat(
      # Candidate alias: AWS/Lambda Errors / Invocations.
      [{
        key         = "${p}/candidate-error-rate"
        name        = "${var.name_prefix}-${p}-candidate-error-rate"
        description = "${p}: candidate alias error rate (%) above ${local.g.error_rate_pct} with at least ${local.g.min_samples} invocations per period."
        threshold   = local.g.error_rate_pct
        comparison  = "GreaterThanThreshold"
        missing     = local.g.missing_data_error_rate
        queries = [
          { id = "inv", expression = null, namespace = "AWS/Lambda", metric_name = "Invocations", stat = "Sum", dimensions = { FunctionName = cfg.candidate_function, Resource = "${cfg.candidate_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "err", expression = null, namespace = "AWS/Lambda", metric_name = "Errors", stat = "Sum", dimensions = { FunctionName = cfg.candidate_function, Resource = "${cfg.candidate_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "rate", expression = "IF(FILL(inv, 0) >= ${local.g.min_samples}, 100 * FILL(err, 0) / FILL(inv, 0), 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "candidate error rate (%)", return_data = true },
        ]
      }],
      # Router alias: AWS/Lambda Errors / Invocations (independent of the
      # router's own EMF, so a crashing router is still seen).
      cfg.router_function == null ? [] : [{
        key         = "${p}/router-error-rate"
        name        = "${var.name_prefix}-${p}-router-error-rate"
        description = "${p}: router alias error rate (%) above ${local.g.error_rate_pct} with at least ${local.g.min_samples} invocations per period."
        threshold   = local.g.error_rate_pct
        comparison  = "GreaterThanThreshold"
        missing     = local.g.missing_data_error_rate
        queries = [
          { id = "inv", expression = null, namespace = "AWS/Lambda", metric_name = "Invocations", stat = "Sum", dimensions = { FunctionName = cfg.router_function, Resource = "${cfg.router_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "err", expression = null, namespace = "AWS/Lambda", metric_name = "Errors", stat = "Sum", dimensions = { FunctionName = cfg.router_function, Resource = "${cfg.router_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "rate", expression = "IF(FILL(inv, 0) >= ${local.g.min_samples}, 100 * FILL(err, 0) / FILL(inv, 0), 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "router error rate (%)", return_data = true },
        ]
      }],
      # Served answers: the router's EMF Errors / Requests. Errors includes
      # canary failures that fell back to the control (contracts.md section 5),
      # which the Lambda metrics never see.
      cfg.router_function == null ? [] : [{
        key         = "${p}/served-error-rate"
        name        = "${var.name_prefix}-${p}-served-error-rate"
        description = "${p}: served error rate (%) incl. canary fallbacks above ${local.g.error_rate_pct} with at least ${local.g.min_samples} requests per period."
        threshold   = local.g.error_rate_pct
        comparison  = "GreaterThanThreshold"
        missing     = local.g.missing_data_error_rate
        queries = [
          { id = "req", expression = null, namespace = var.metrics_namespace, metric_name = "Requests", stat = "Sum", dimensions = local.emf_dims[p], label = null, return_data = false },
          { id = "err", expression = null, namespace = var.metrics_namespace, metric_name = "Errors", stat = "Sum", dimensions = local.emf_dims[p], label = null, return_data = false },
          { id = "rate", expression = "IF(FILL(req, 0) >= ${local.g.min_samples}, 100 * FILL(err, 0) / FILL(req, 0), 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "served error rate (%)", return_data = true },
        ]
      }],
      # p95 latency: candidate alias vs control alias, as a regression in %.
      cfg.control_function == null ? [] : [{
        key         = "${p}/p95-regression"
        name        = "${var.name_prefix}-${p}-p95-regression"
        description = "${p}: candidate p95 duration more than ${local.g.p95_regression_pct}% above the control's, with at least ${local.g.min_samples} candidate invocations per period."
        threshold   = local.g.p95_regression_pct
        comparison  = "GreaterThanThreshold"
        missing     = local.g.missing_data_latency
        queries = [
          { id = "inv", expression = null, namespace = "AWS/Lambda", metric_name = "Invocations", stat = "Sum", dimensions = { FunctionName = cfg.candidate_function, Resource = "${cfg.candidate_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "cand", expression = null, namespace = "AWS/Lambda", metric_name = "Duration", stat = "p95", dimensions = { FunctionName = cfg.candidate_function, Resource = "${cfg.candidate_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "ctrl", expression = null, namespace = "AWS/Lambda", metric_name = "Duration", stat = "p95", dimensions = { FunctionName = cfg.control_function, Resource = "${cfg.control_function}:${cfg.alias_name}" }, label = null, return_data = false },
          { id = "regression", expression = "IF(FILL(inv, 0) >= ${local.g.min_samples} AND FILL(ctrl, 0) > 0, 100 * (FILL(cand, 0) - ctrl) / ctrl, 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "candidate p95 vs control (%)", return_data = true },
        ]
      }],
      # Shadow diff rate: candidate's EMF ShadowMismatches / ShadowComparisons.
      !cfg.shadow_enabled ? [] : [{
        key         = "${p}/shadow-diff-rate"
        name        = "${var.name_prefix}-${p}-shadow-diff-rate"
        description = "${p}: shadow comparisons with a difference (%) above ${local.g.shadow_diff_pct} with at least ${local.g.min_samples} comparisons per period."
        threshold   = local.g.shadow_diff_pct
        comparison  = "GreaterThanThreshold"
        missing     = local.g.missing_data_shadow_diff
        queries = [
          { id = "cmp", expression = null, namespace = var.metrics_namespace, metric_name = "ShadowComparisons", stat = "Sum", dimensions = local.emf_dims[p], label = null, return_data = false },
          { id = "mis", expression = null, namespace = var.metrics_namespace, metric_name = "ShadowMismatches", stat = "Sum", dimensions = local.emf_dims[p], label = null, return_data = false },
          { id = "rate", expression = "IF(FILL(cmp, 0) >= ${local.g.min_samples}, 100 * FILL(mis, 0) / FILL(cmp, 0), 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "shadow diff rate (%)", return_data = true },
        ]
      }],
      # Canary share: CanaryRequests / Requests must stay inside
      # [min_ratio, max_ratio] x canary_percent. The expression is 1 outside
      # the band (enough requests), else 0; the alarm fires on >= 1.
      cfg.router_function == null || cfg.canary_percent <= 0 ? [] : [{
        key         = "${p}/canary-share"
        name        = "${var.name_prefix}-${p}-canary-share"
        description = "${p}: canary share outside ${local.g.canary_share_min_ratio * cfg.canary_percent}-${local.g.canary_share_max_ratio * cfg.canary_percent}% (target ${cfg.canary_percent}%) with at least ${local.g.min_samples} requests per period."
        threshold   = 1
        comparison  = "GreaterThanOrEqualToThreshold"
        missing     = local.g.missing_data_canary
        queries = [
          { id = "req", expression = null, namespace = var.metrics_namespace, metric_name = "Requests", stat = "Sum", dimensions = local.emf_dims[p], label = null, return_data = false },
          { id = "can", expression = null, namespace = var.metrics_namespace, metric_name = "CanaryRequests", stat = "Sum", dimensions = local.emf_dims[p], label = null, return_data = false },
          { id = "share", expression = "100 * FILL(can, 0) / FILL(req, 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "canary share (%)", return_data = false },
          { id = "outside", expression = "IF(FILL(req, 0) >= ${local.g.min_samples} AND (share < ${local.g.canary_share_min_ratio * cfg.canary_percent} OR share > ${local.g.canary_share_max_ratio * cfg.canary_percent}), 1, 0)", namespace = null, metric_name = null, stat = null, dimensions = null, label = "canary share outside its band (1/0)", return_data = true },
        ]
      }],
    )
  ])

  alarms = { for a in local.alarm_list : a.key => a }

  period_ok = contains([10, 20, 30], local.g.period_seconds) || (local.g.period_seconds >= 60 && local.g.period_seconds % 60 == 0)
}

################################################################################
# Notification topic
################################################################################

resource "aws_sns_topic" "this" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Metric-math alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = local.g.evaluation_periods
  datapoints_to_alarm = local.g.datapoints_to_alarm
  treat_missing_data  = each.value.missing
  actions_enabled     = true
  # The individual alarms notify nobody: the composite alarm below is the one
  # signal (and the one notification) per release environment.

  dynamic "metric_query" {
    for_each = each.value.queries
    content {
      id          = metric_query.value.id
      expression  = metric_query.value.expression
      label       = metric_query.value.label
      return_data = metric_query.value.return_data

      dynamic "metric" {
        for_each = metric_query.value.expression == null ? [metric_query.value] : []
        content {
          namespace   = metric.value.namespace
          metric_name = metric.value.metric_name
          stat        = metric.value.stat
          dimensions  = metric.value.dimensions
          period      = local.g.period_seconds
        }
      }
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.period_ok
      error_message = "guardrails.period_seconds must be 10, 20, 30 or a multiple of 60."
    }
    precondition {
      condition     = local.g.period_seconds * local.g.evaluation_periods <= 86400
      error_message = "guardrails.period_seconds x evaluation_periods must be at most one day."
    }
    precondition {
      condition     = local.g.datapoints_to_alarm <= local.g.evaluation_periods
      error_message = "guardrails.datapoints_to_alarm must not exceed evaluation_periods."
    }
    precondition {
      condition     = local.g.min_samples >= 1
      error_message = "guardrails.min_samples must be at least 1 (it also guards the divisions)."
    }
    precondition {
      condition     = length([for q in each.value.queries : q if q.expression == null]) <= 10
      error_message = "A metric-math alarm uses at most 10 metrics."
    }
  }
}

################################################################################
# Composite rollback alarm
################################################################################

resource "aws_cloudwatch_composite_alarm" "rollback" {
  alarm_name        = "${var.name_prefix}-rollback"
  alarm_description = "Rollback signal of ${var.release}: ALARM when any guardrail alarm is in ALARM. Watched by CodeDeploy and AppConfig."
  alarm_rule        = join(" OR ", [for k in sort(keys(local.alarms)) : "ALARM(\"${aws_cloudwatch_metric_alarm.this[k].alarm_name}\")"])

  actions_enabled = true
  alarm_actions   = concat([aws_sns_topic.this.arn], var.notification_topic_arns)
  ok_actions      = concat([aws_sns_topic.this.arn], var.notification_topic_arns)

  tags = var.tags
}
