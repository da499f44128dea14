# The alarms of one release environment, exactly as the generator decided them
# (terraform/envs/<env>/alarms.json, built by generator/alarms.py, where each
# alarm's role, window, floors and treat_missing_data are chosen and explained).
# This module is generic: one metric alarm per entry of var.definitions.alarms,
# one composite rollback alarm over the members it names, one SNS topic.
#
# - role "rollback": no action of its own; it is a member of the composite
#   alarm, which the guard watches and which notifies the topic; CodeDeploy
#   groups list the members that judge their function (`judges`).
# - role "notify": notifies the topic on ALARM and OK; rolls nothing back.

locals {
  notify_arns = concat([aws_sns_topic.this.arn], var.notification_topic_arns)
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
# Metric-math alarms: metrics (no data returned) then expressions
################################################################################

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.definitions.alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  treat_missing_data  = each.value.treat_missing_data

  actions_enabled = true
  alarm_actions   = each.value.role == "notify" ? local.notify_arns : []
  ok_actions      = each.value.role == "notify" ? local.notify_arns : []

  dynamic "metric_query" {
    for_each = each.value.metrics
    content {
      id          = metric_query.value.id
      return_data = false

      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.metric_name
        stat        = metric_query.value.stat
        dimensions  = metric_query.value.dimensions
        period      = each.value.period
      }
    }
  }

  dynamic "metric_query" {
    for_each = each.value.expressions
    content {
      id          = metric_query.value.id
      expression  = metric_query.value.expression
      label       = metric_query.value.label
      return_data = metric_query.value.return_data
    }
  }

  tags = merge(var.tags, { Judges = each.value.judges })

  lifecycle {
    precondition {
      condition     = contains([10, 20, 30], each.value.period) || (each.value.period >= 60 && each.value.period % 60 == 0)
      error_message = "${each.key}: the period must be 10, 20, 30 or a multiple of 60."
    }
    precondition {
      condition     = each.value.period * each.value.evaluation_periods <= 86400
      error_message = "${each.key}: period x evaluation_periods must be at most one day (longer alarms are evaluated once an hour)."
    }
    precondition {
      condition     = each.value.datapoints_to_alarm <= each.value.evaluation_periods
      error_message = "${each.key}: datapoints_to_alarm must not exceed evaluation_periods."
    }
    precondition {
      condition     = length(each.value.metrics) <= 10
      error_message = "${each.key}: a metric-math alarm uses at most 10 metrics."
    }
  }
}

################################################################################
# Composite rollback alarm
################################################################################

resource "aws_cloudwatch_composite_alarm" "rollback" {
  alarm_name        = var.definitions.rollback.name
  alarm_description = var.definitions.rollback.description
  alarm_rule        = join(" OR ", [for k in var.definitions.rollback.members : "ALARM(\"${aws_cloudwatch_metric_alarm.this[k].alarm_name}\")"])

  actions_enabled = true
  alarm_actions   = concat(local.notify_arns, var.rollback_action_arns)
  ok_actions      = local.notify_arns

  tags = var.tags
}
