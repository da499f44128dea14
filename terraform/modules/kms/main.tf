# Customer-managed KMS key shared by one release environment: it encrypts the
# functions' environment variables, their log groups and dead-letter queues, the
# alarm topic and the AppConfig hosted configuration. Created only when the spec
# does not bring its own key (var.key_arn).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create     = var.key_arn == null
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # data.aws_region's id is the region name in provider 5.x and 6.x alike
  # (`name` is deprecated in 6.x).
  region = data.aws_region.current.id

  account_root = "arn:${local.partition}:iam::${local.account_id}:root"
}

# The key policy. In a key policy, `resources = ["*"]` means "this key" (the
# policy is attached to exactly one key); AWS accepts nothing narrower there.
data "aws_iam_policy_document" "this" {
  count = local.create ? 1 : 0

  # The account keeps administrative control and may delegate use of the key to
  # IAM policies (the functions' roles grant kms:Decrypt on this key). Actions
  # are listed rather than "kms:*" so that no statement has a wildcard action.
  statement {
    sid    = "AccountAdministersAndDelegates"
    effect = "Allow"
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListAliases",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListResourceTags",
      "kms:ListRetirableGrants",
      "kms:PutKeyPolicy",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"] # key policy: "*" is this key
  }

  # CloudWatch Logs encrypts the functions' log groups, but only log groups of
  # this account and region (encryption context condition).
  statement {
    sid    = "CloudWatchLogs"
    effect = "Allow"
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"] # key policy: "*" is this key
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # SNS (the alarm topic) and SQS (the dead-letter queues) use the key for
  # server-side encryption; Lambda uses it for the functions' environment.
  # (DynamoDB, for the shadow event ledger, uses grants that the account's IAM
  # principals create through the first statement: it needs no statement here.)
  # Each service may use it only on behalf of this account.
  statement {
    sid    = "SnsSqsLambda"
    effect = "Allow"
    principals {
      type = "Service"
      identifiers = [
        "sns.amazonaws.com",
        "sqs.amazonaws.com",
        "lambda.amazonaws.com",
      ]
    }
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = ["*"] # key policy: "*" is this key
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # CloudWatch alarms publish to the KMS-encrypted alarm topic: the publisher
  # needs the data key, so the alarms service must be allowed here too.
  statement {
    sid    = "CloudWatchAlarmsPublishToTopic"
    effect = "Allow"
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = ["*"] # key policy: "*" is this key
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = "cutover: ${var.alias_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.this[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create ? 1 : 0

  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this[0].key_id
}
