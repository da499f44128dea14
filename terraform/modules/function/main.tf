# One Lambda function of a read path (control, candidate), the cleanup or the guard,
# with what it needs and nothing more: its log group, its dead-letter queue, its
# execution role, a published version behind the `live` alias, and optionally a
# schedule and an alarm's state changes as triggers.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id # region name in provider 5.x and 6.x

  log_group_name = "/aws/lambda/${var.name}"
}

################################################################################
# Log group: retention from the spec, encrypted with the release key
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Dead-letter queue: failed asynchronous invocations (shadow events, schedule)
################################################################################

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-dlq"
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum

  tags = var.tags
}

################################################################################
# Execution role: least privilege
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Execution role of the ${var.name} function (cutover)."
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  # Its own log group only (the streams under it).
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # X-Ray writes. These actions do not support resource-level permissions
  # (Service Authorization Reference, AWS X-Ray): "*" is the only valid resource.
  statement {
    sid    = "WriteTraces"
    effect = "Allow"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"] # X-Ray: no resource-level permissions exist
  }

  # Failed asynchronous events go to its own DLQ only.
  statement {
    sid       = "SendToOwnDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # Decrypt its environment; GenerateDataKey to write to the KMS-encrypted DLQ.
  statement {
    sid       = "UseReleaseKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # In a VPC, Lambda manages the function's network interfaces with this role.
  # The Describe* calls support no resource-level permissions, so they need "*";
  # the create/delete/assign calls are limited to this account's ENIs and to
  # the function's own subnets and security groups.
  dynamic "statement" {
    for_each = var.vpc == null ? [] : [var.vpc]
    content {
      sid    = "DescribeNetwork"
      effect = "Allow"
      actions = [
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
      ]
      resources = ["*"] # EC2 Describe*: no resource-level permissions exist
    }
  }

  dynamic "statement" {
    for_each = var.vpc == null ? [] : [var.vpc]
    content {
      sid     = "CreateNetworkInterfaceInOwnSubnets"
      effect  = "Allow"
      actions = ["ec2:CreateNetworkInterface"]
      resources = concat(
        ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
        [for id in statement.value.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${id}"],
        [for id in statement.value.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${id}"],
      )
    }
  }

  dynamic "statement" {
    for_each = var.vpc == null ? [] : [var.vpc]
    content {
      sid    = "ManageOwnNetworkInterfaces"
      effect = "Allow"
      actions = [
        "ec2:AssignPrivateIpAddresses",
        "ec2:DeleteNetworkInterface",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
    }
  }

  # Statements the root module passes in: the router's invoke of the candidate
  # alias and its AppConfig reads, the candidate's rds-db:connect, the
  # cleanup's version pruning. Never a "*" action (checked by the tests).
  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json

  lifecycle {
    precondition {
      condition     = alltrue([for s in var.policy_statements : !contains(s.actions, "*") && alltrue([for a in s.actions : !endswith(a, ":*")])])
      error_message = "policy_statements must not grant a '*' action (or 'service:*')."
    }
  }
}

################################################################################
# Function, published version and alias
################################################################################

resource "aws_lambda_function" "this" {
  function_name = var.name
  description   = var.description
  role          = aws_iam_role.this.arn
  handler       = var.handler
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = var.memory_mb
  timeout       = var.timeout_s
  layers        = var.layers

  filename         = var.package.filename
  source_code_hash = var.package.source_code_hash

  # Every apply that changes code or configuration publishes a new version;
  # CodeDeploy shifts the alias to it.
  publish = true

  reserved_concurrent_executions = var.reserved_concurrency
  code_signing_config_arn        = var.code_signing_config_arn
  kms_key_arn                    = var.kms_key_arn

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []
    content {
      variables = environment.value
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  dynamic "vpc_config" {
    for_each = var.vpc == null ? [] : [var.vpc]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tags = var.tags

  # The role must be able to write logs and reach its DLQ before the first
  # invocation (and before Lambda validates the VPC permissions).
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = contains(["x86_64", "arm64"], var.architecture)
      error_message = "architecture must be x86_64 or arm64."
    }
    precondition {
      condition     = contains(["Active", "PassThrough"], var.tracing_mode)
      error_message = "tracing_mode must be Active or PassThrough."
    }
    precondition {
      condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
      error_message = "name must be 1-64 characters of [a-zA-Z0-9-_]."
    }
    precondition {
      condition     = can(regex("^[a-zA-Z0-9_-]{1,128}$", var.alias_name)) && !can(regex("^[0-9]+$", var.alias_name))
      error_message = "alias_name must be 1-128 characters of [a-zA-Z0-9-_], not all digits."
    }
  }
}

resource "aws_lambda_alias" "this" {
  name             = var.alias_name
  description      = "Traffic entry point; CodeDeploy shifts it between versions."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  # Terraform creates the alias on the first published version; from then on
  # CodeDeploy owns its version and weights. Without this, every apply would
  # undo a running or finished deployment (aws-rules.md, CodeDeploy).
  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

################################################################################
# Optional schedule (the cleanup function; the guard, every minute)
################################################################################

resource "aws_cloudwatch_event_rule" "schedule" {
  count = var.schedule == null ? 0 : 1

  name                = var.name
  description         = "Invokes ${var.name}:${var.alias_name} on a schedule."
  schedule_expression = var.schedule.expression

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  count = var.schedule == null ? 0 : 1

  rule  = aws_cloudwatch_event_rule.schedule[0].name
  arn   = aws_lambda_alias.this.arn
  input = var.schedule.input
}

resource "aws_lambda_permission" "schedule" {
  count = var.schedule == null ? 0 : 1

  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.this.name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[0].arn
}

################################################################################
# Optional alarm trigger (the guard: the composite rollback alarm)
################################################################################

# Every state change of the alarm (EventBridge's "CloudWatch Alarm State Change"
# event, whose `resources` holds the alarm's ARN) invokes the alias asynchronously.
# The event is a hint, not the state: a function that holds a property while the
# alarm is in ALARM re-reads it (and runs on a schedule too), since the alarm's
# actions and events come on a transition only (docs/aws-rules.md, CloudWatch).
resource "aws_cloudwatch_event_rule" "alarm" {
  count = var.alarm_trigger == null ? 0 : 1

  name        = "${substr(var.name, 0, 58)}-alarm"
  description = "Invokes ${var.name}:${var.alias_name} on every state change of its alarm."
  event_pattern = jsonencode({
    source        = ["aws.cloudwatch"]
    "detail-type" = ["CloudWatch Alarm State Change"]
    resources     = [var.alarm_trigger.alarm_arn]
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "alarm" {
  count = var.alarm_trigger == null ? 0 : 1

  rule = aws_cloudwatch_event_rule.alarm[0].name
  arn  = aws_lambda_alias.this.arn
}

resource "aws_lambda_permission" "alarm" {
  count = var.alarm_trigger == null ? 0 : 1

  statement_id  = "AllowEventBridgeAlarm"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.this.name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.alarm[0].arn
}

# The function reads the alarm's state itself (with an alarm trigger, or
# read_alarms: the controller function). DescribeAlarms returns nothing about a
# *composite* alarm unless the permission is scoped to "*" (DescribeAlarms API
# reference); the statement allows that read-only action only.
data "aws_iam_policy_document" "read_alarms" {
  #checkov:skip=CKV_AWS_356:DescribeAlarms returns nothing about a composite alarm unless scoped to * (DescribeAlarms API reference); the statement allows that read-only action only.
  count = var.alarm_trigger == null && !var.read_alarms ? 0 : 1

  statement {
    sid       = "ReadAlarmStates"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["*"] # composite alarms are visible only to DescribeAlarms on *
  }
}

resource "aws_iam_role_policy" "read_alarms" {
  count = var.alarm_trigger == null && !var.read_alarms ? 0 : 1

  name   = "${var.name}-read-alarms"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.read_alarms[0].json
}
