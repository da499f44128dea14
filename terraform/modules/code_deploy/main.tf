# CodeDeploy for Lambda: shifts each `live` alias from its current version to the
# version the last apply published, in the steps of the deployment config, and
# rolls back on a failure (the deploy probe's Failed verdict among them) or when one
# of the group's metric alarms fires.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id # region name in provider 5.x and 6.x

  function_arn_prefix = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function"

  alarm_names = distinct(flatten([for g in values(var.deployment_groups) : g.alarm_names]))
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
# Service role: only the aliases of its deployment groups, its hooks and its alarms
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

  # The lifecycle hooks the AppSpecs name (the deploy probe); the managed policy
  # allows any CodeDeployHook_* function, this role only these.
  dynamic "statement" {
    for_each = length(var.lifecycle_hook_function_names) > 0 ? [1] : []
    content {
      sid       = "InvokeLifecycleHooks"
      effect    = "Allow"
      actions   = ["lambda:InvokeFunction"]
      resources = flatten([for f in var.lifecycle_hook_function_names : ["${local.function_arn_prefix}:${f}", "${local.function_arn_prefix}:${f}:*"]])
    }
  }

  # CodeDeploy reads its groups' metric alarms (several names in one DescribeAlarms).
  dynamic "statement" {
    for_each = length(local.alarm_names) > 0 ? [1] : []
    content {
      sid       = "ReadRollbackAlarms"
      effect    = "Allow"
      actions   = ["cloudwatch:DescribeAlarms"]
      resources = ["*"] # as the managed AWSCodeDeployRoleForLambda; read-only
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

  # The member metric alarms that judge this group's function (CodeDeploy documents
  # metric alarms only: no composite). Rendered only with alarms: an empty, disabled
  # alarm_configuration is not returned by the API and would show as a change on
  # every plan.
  dynamic "alarm_configuration" {
    for_each = length(each.value.alarm_names) > 0 ? [each.value.alarm_names] : []
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
      condition     = length(each.value.alarm_names) <= 10
      error_message = "A deployment group takes at most 10 alarms: list the member metric alarms that judge its function."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
