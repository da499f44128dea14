# The controller of one release environment: a Step Functions state machine
# (STANDARD) that walks the canary through its steps, calling the controller
# function for every judgement and AppConfig's StartDeployment for every step; its
# execution role, its log group and, optionally, a schedule that starts it.
#
# The definition is rendered by the generator (controller.asl.json, valid JSON and
# valid ASL); templatefile() fills in only the ids Terraform alone knows.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id # region name in provider 5.x and 6.x

  # Known before the state machine exists: the trust policy's condition and the
  # schedule role's statement name it without a cycle.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"
  # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy for Step
  # Functions' log delivery short (Step Functions developer guide, logging).
  log_group_name = "/aws/vendedlogs/states/${var.name}"
}

################################################################################
# Log group: execution events without their data, encrypted with the release key
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Execution role: least privilege
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "StepFunctionsAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = substr("${var.name}-sfn", 0, 64)
  description        = "Execution role of the ${var.name} state machine (cutover controller)."
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "this" {

  # The controller function, and any of its versions or aliases.
  statement {
    sid       = "InvokeControllerFunction"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.function_arn, "${var.function_arn}:*"]
  }

  # The next step's kept hosted version, with the release's strategy, in this
  # environment only (StartDeployment is authorised on all three).
  statement {
    sid       = "DeployKeptFlagVersions"
    effect    = "Allow"
    actions   = ["appconfig:StartDeployment"]
    resources = [var.environment_arn, var.profile_arn, var.strategy_arn]
  }

  # The state machine's data at rest, the encrypted flag deployment and the
  # encrypted alarm topic.
  statement {
    sid       = "UseReleaseKey"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "NotifyOnCall"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [var.topic_arn]
  }

  # X-Ray writes (tracing is on). No resource-level permissions exist.
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

  # What Step Functions needs to deliver its logs to CloudWatch Logs (the actions
  # the developer guide lists for logging); they take only "*".
  statement {
    sid    = "DeliverExecutionLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"] # log delivery: no resource-level permissions exist
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

################################################################################
# State machine
################################################################################

resource "aws_sfn_state_machine" "this" {
  name     = var.name
  role_arn = aws_iam_role.this.arn
  type     = "STANDARD"

  definition = templatefile(var.definition_path, {
    controller_function_arn = var.function_arn
    application_id          = var.application_id
    environment_id          = var.environment_id
    profile_id              = var.profile_id
    strategy_id             = var.strategy_id
    kms_key_arn             = var.kms_key_arn
    topic_arn               = var.topic_arn
  })

  # Every state transition, without the data: the state carries the plan and the
  # judgements, which the controller function logs and audits itself.
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = false
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  tags = var.tags

  # The role must be able to deliver logs and use the key when the state machine
  # is created (Step Functions checks both then).
  depends_on = [aws_iam_role_policy.this]
}

################################################################################
# Optional schedule: EventBridge starts an execution
################################################################################

resource "aws_cloudwatch_event_rule" "schedule" {
  count = var.schedule == null ? 0 : 1

  name                = var.name
  description         = "Starts the ${var.name} state machine on a schedule."
  schedule_expression = var.schedule

  tags = var.tags
}

data "aws_iam_policy_document" "schedule_assume" {
  count = var.schedule == null ? 0 : 1

  statement {
    sid     = "EventBridgeAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "schedule" {
  count = var.schedule == null ? 0 : 1

  name               = substr("${var.name}-schedule", 0, 64)
  description        = "EventBridge starts the ${var.name} state machine (cutover controller)."
  assume_role_policy = data.aws_iam_policy_document.schedule_assume[0].json

  tags = var.tags
}

# Only StartExecution, only on this state machine.
data "aws_iam_policy_document" "schedule" {
  count = var.schedule == null ? 0 : 1

  statement {
    sid       = "StartControllerExecutions"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  # The state machine's history is encrypted with the release key ("The execution
  # history and state machine definition will be encrypted with the key applied to the
  # State Machine"); AWS does not say whether the caller of StartExecution needs the key
  # too (DescribeExecution's callers need kms:Decrypt). Granted, and only for this state
  # machine's encryption context, so the schedule works under either reading.
  statement {
    sid       = "EncryptExecutionInput"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role_policy" "schedule" {
  count = var.schedule == null ? 0 : 1

  name   = "${var.name}-schedule"
  role   = aws_iam_role.schedule[0].id
  policy = data.aws_iam_policy_document.schedule[0].json
}

resource "aws_cloudwatch_event_target" "schedule" {
  count = var.schedule == null ? 0 : 1

  rule     = aws_cloudwatch_event_rule.schedule[0].name
  arn      = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.schedule[0].arn
  input    = jsonencode({ startedBy = "schedule" })
}
