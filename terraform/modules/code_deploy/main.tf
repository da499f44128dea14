# CodeDeploy for Lambda: shifts each `live` alias from its current version to the
# version the last apply published, in the steps of the deployment config, and
# rolls back on a failure or when one of the rollback alarms fires.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id # region name in provider 5.x and 6.x

  function_arn_prefix = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function"
}

resource "aws_codedeploy_app" "this" {
  name             = var.application_name
  compute_platform = "Lambda"

  tags = var.tags
}

resource "aws_codedeploy_deployment_config" "this" {
  count = var.deployment_config.custom ? 1 : 0

  deployment_config_name = var.deployment_config.name
  compute_platform       = "Lambda"

  traffic_routing_config {
    type = var.deployment_config.type

    dynamic "time_based_canary" {
      for_each = var.deployment_config.type == "TimeBasedCanary" ? [1] : []
      content {
        percentage = var.deployment_config.percentage
        interval   = var.deployment_config.interval_minutes
      }
    }

    dynamic "time_based_linear" {
      for_each = var.deployment_config.type == "TimeBasedLinear" ? [1] : []
      content {
        percentage = var.deployment_config.percentage
        interval   = var.deployment_config.interval_minutes
      }
    }
  }

  lifecycle {
    precondition {
      condition     = contains(["TimeBasedCanary", "TimeBasedLinear"], coalesce(var.deployment_config.type, "unset")) && var.deployment_config.percentage != null && var.deployment_config.interval_minutes != null
      error_message = "A custom deployment_config needs type TimeBasedCanary or TimeBasedLinear, a percentage and interval_minutes."
    }
  }
}

################################################################################
# Service role: only the aliases of its deployment groups and its alarms
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "CodeDeployAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.application_name}-codedeploy"
  description        = "CodeDeploy service role of ${var.application_name} (cutover)."
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

# A narrower copy of the managed AWSCodeDeployRoleForLambda: the same actions,
# limited to this module's functions, aliases and alarms instead of "*".
data "aws_iam_policy_document" "this" {
  statement {
    sid    = "ShiftAliases"
    effect = "Allow"
    actions = [
      "lambda:GetAlias",
      "lambda:GetFunction",
      "lambda:GetProvisionedConcurrencyConfig",
      "lambda:UpdateAlias",
    ]
    resources = flatten([
      for g in values(var.deployment_groups) : [
        "${local.function_arn_prefix}:${g.function_name}",
        "${local.function_arn_prefix}:${g.function_name}:${g.alias_name}",
      ]
    ])
  }

  # Lifecycle hooks, if an AppSpec ever names one, must be CodeDeployHook_*
  # functions (the same restriction as the managed policy).
  statement {
    sid       = "InvokeLifecycleHooks"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.function_arn_prefix}:CodeDeployHook_*"]
  }

  # DescribeAlarms returns nothing about a *composite* alarm unless the permission
  # is scoped to "*" (DescribeAlarms API reference); the rollback alarm is one.
  dynamic "statement" {
    for_each = length(var.alarm_names) > 0 ? [1] : []
    content {
      sid       = "ReadRollbackAlarms"
      effect    = "Allow"
      actions   = ["cloudwatch:DescribeAlarms"]
      resources = ["*"] # composite alarms are visible only to DescribeAlarms on *
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.application_name}-codedeploy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

################################################################################
# Deployment groups: one per alias CodeDeploy shifts
################################################################################

resource "aws_codedeploy_deployment_group" "this" {
  for_each = var.deployment_groups

  app_name               = aws_codedeploy_app.this.name
  deployment_group_name  = each.key
  deployment_config_name = var.deployment_config.custom ? aws_codedeploy_deployment_config.this[0].id : var.deployment_config.name
  service_role_arn       = aws_iam_role.this.arn

  deployment_style {
    deployment_option = "WITH_TRAFFIC_CONTROL"
    deployment_type   = "BLUE_GREEN"
  }

  # A rollback redeploys the last good version and returns the alias to 100% on
  # it; without it a stopped deployment leaves the alias split and blocks the
  # next one (aws-rules.md, CodeDeploy).
  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  # Rendered only with alarms: an empty, disabled alarm_configuration is not
  # returned by the API and would show as a change on every plan.
  dynamic "alarm_configuration" {
    for_each = length(var.alarm_names) > 0 ? [var.alarm_names] : []
    content {
      enabled = true
      alarms  = alarm_configuration.value
      # An alarm CodeDeploy cannot read stops the deployment rather than being
      # ignored: a missing signal is not a green light.
      ignore_poll_alarm_failure = false
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.alarm_names) <= 10
      error_message = "A deployment group takes at most 10 alarms; pass the composite rollback alarm."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
