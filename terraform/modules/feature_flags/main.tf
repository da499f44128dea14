# AppConfig feature flags of one release environment: the application,
# environment (with the rollback alarms as monitors), an AWS.AppConfig.FeatureFlags
# profile, the rendered document as a hosted configuration version, a deployment
# strategy from the spec, and a deployment whenever the document changes.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_ssm_parameter" "extension_layer" {
  count = var.extension_layer_arn == null ? 1 : 0
  name  = replace(var.extension_layer_parameter, "{architecture}", var.extension_architecture)
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id # region name in provider 5.x and 6.x

  # The rendered file says it is generated in a "//" key; AppConfig accepts only
  # version, flags and values at the top level, so that key is dropped here.
  document = jsonencode({ for key, value in jsondecode(file(var.document_path)) : key => value if key != "//" })
  # The hash of the rendered document is the only thing that decides whether a
  # new hosted version (and a deployment) is needed; see terraform_data.document.
  document_sha256 = sha256(local.document)

  # Every document a ramp or a rollback may deploy, keyed by the sha256 of its
  # content; the current document is always among them.
  kept_documents = merge(
    { for doc in jsondecode(file(var.kept_documents_path)).documents : sha256(jsonencode(doc)) => jsonencode(doc) },
    { (local.document_sha256) = local.document },
  )

  # The AppConfig Agent Lambda extension layer: var.extension_layer_arn when the spec
  # names one, else the ARN AWS publishes as an SSM public parameter for this region
  # and architecture (docs/aws-rules.md, AppConfig). The value is public: no secret.
  extension_layer_arn = coalesce(var.extension_layer_arn, one(data.aws_ssm_parameter.extension_layer[*].insecure_value))

  monitored = length(var.monitor_alarm_arns) > 0
}

################################################################################
# Application, environment, profile, strategy
################################################################################

resource "aws_appconfig_application" "this" {
  name        = var.application_name
  description = var.description

  tags = var.tags
}

resource "aws_appconfig_environment" "this" {
  name           = var.environment_name
  description    = var.description
  application_id = aws_appconfig_application.this.id

  # During a flag deployment and its bake time, any of these alarms in ALARM
  # rolls the configuration back to the previous version.
  dynamic "monitor" {
    for_each = var.monitor_alarm_arns
    content {
      alarm_arn      = monitor.value
      alarm_role_arn = aws_iam_role.monitor[0].arn
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.monitor_alarm_arns) <= 5
      error_message = "An AppConfig environment takes at most 5 monitors; pass the composite rollback alarm."
    }
  }
}

resource "aws_appconfig_configuration_profile" "this" {
  name               = var.profile_name
  description        = var.description
  application_id     = aws_appconfig_application.this.id
  location_uri       = "hosted"
  type               = "AWS.AppConfig.FeatureFlags"
  kms_key_identifier = var.kms_key_arn

  tags = var.tags
}

# The brake's strategy: all at once and no bake, so the canary-off flags it deploys
# after the rollback alarm fired are complete at once (an alarm still in ALARM
# during a bake would roll them back).
resource "aws_appconfig_deployment_strategy" "brake" {
  count = var.brake_strategy_name == null ? 0 : 1

  name                           = var.brake_strategy_name
  description                    = "cutover brake: canary off at once (${var.description})"
  growth_type                    = "LINEAR"
  growth_factor                  = 100
  deployment_duration_in_minutes = 0
  final_bake_time_in_minutes     = 0
  replicate_to                   = "NONE"

  tags = var.tags
}

resource "aws_appconfig_deployment_strategy" "this" {
  name                           = var.strategy.name
  description                    = var.description
  growth_type                    = var.strategy.growth_type
  growth_factor                  = var.strategy.growth_factor
  deployment_duration_in_minutes = var.strategy.duration_minutes
  final_bake_time_in_minutes     = var.strategy.final_bake_minutes
  replicate_to                   = "NONE"

  tags = var.tags
}

################################################################################
# Hosted versions: every document a ramp or a rollback may need, kept in place
################################################################################

# Why not one hosted version replaced on every change: Terraform destroys the
# replaced version in the same apply that deploys the new one, and AppConfig's
# alarm rollback and `stop-deployment --allow-revert` return to the previous
# version, which must still exist (docs/aws-rules.md, AppConfig).
#
# So the generator renders, next to the current document, the documents of every
# planned percent of every read path (the current one with one path moved to 0 or
# to another step: kept_documents_path). Each is a hosted version keyed by the
# sha256 of its content: a ramp or a return to 0 deploys a version that already
# exists and leaves the one it replaces in place. Only a change to something other
# than a canary percent (salt, sticky key, shadow settings, flag keys) creates a
# new set and deletes the old one; make such changes at canary 0 (see README).
#
# Drift: AppConfig stores each flag with `_createdAt` / `_updatedAt` added, so the
# content it returns never equals the rendered one (hashicorp/terraform-provider-aws
# PR #44847). Content is ignored; a version's key is the hash of its content, so a
# real change is a new key, never an update.
resource "aws_appconfig_hosted_configuration_version" "kept" {
  for_each = local.kept_documents

  application_id           = aws_appconfig_application.this.id
  configuration_profile_id = aws_appconfig_configuration_profile.this.configuration_profile_id
  description              = "cutover document sha256:${each.key}"
  content_type             = "application/json"
  content                  = each.value

  lifecycle {
    ignore_changes = [content]
  }
}

# Releases rendered before the kept versions had a single version at this
# address. Terraform forgets it without deleting it: it may be the deployed
# version, and AppConfig's rollback may need it. The cleanup function prunes it
# once it is neither deployed nor the previous one.
removed {
  from = aws_appconfig_hosted_configuration_version.this

  lifecycle {
    destroy = false
  }
}

# The hash of the current document decides whether a deployment is needed. A
# deployment is also tied to the hash directly: a version number alone can come
# back the same after a delete (issue #20273).
resource "terraform_data" "document" {
  input = local.document_sha256
}

# One deployment per environment at a time: applying a new document while a flag
# deployment (or its bake) is in progress fails with ConflictException. Terraform
# has no data source to check first; `cutover apply` does (generator/flag_guard.py)
# and refuses with what to do (README, "Ramping the canary").
resource "aws_appconfig_deployment" "this" {
  application_id           = aws_appconfig_application.this.id
  environment_id           = aws_appconfig_environment.this.environment_id
  configuration_profile_id = aws_appconfig_configuration_profile.this.configuration_profile_id
  configuration_version    = aws_appconfig_hosted_configuration_version.kept[local.document_sha256].version_number
  deployment_strategy_id   = aws_appconfig_deployment_strategy.this.id
  kms_key_identifier       = var.kms_key_arn
  description              = "cutover document sha256:${local.document_sha256}"

  tags = var.tags

  lifecycle {
    replace_triggered_by = [terraform_data.document]
  }
}

################################################################################
# Monitor role: AppConfig reads the rollback alarms, nothing else
################################################################################

data "aws_iam_policy_document" "monitor_assume" {
  statement {
    sid     = "AppConfigAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["appconfig.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "monitor" {
  #checkov:skip=CKV_AWS_356:DescribeAlarms returns nothing about a composite alarm unless scoped to * (DescribeAlarms API reference); the statement allows that read-only action only.
  count = local.monitored ? 1 : 0

  # DescribeAlarms returns nothing about a *composite* alarm unless the permission
  # is scoped to "*" (DescribeAlarms API reference); the rollback alarm is one.
  statement {
    sid       = "ReadRollbackAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["*"] # composite alarms are visible only to DescribeAlarms on *
  }
}

resource "aws_iam_role" "monitor" {
  count = local.monitored ? 1 : 0

  name               = "${var.application_name}-${var.environment_name}-monitor"
  description        = "AppConfig reads the rollback alarms of ${var.application_name}/${var.environment_name} (cutover)."
  assume_role_policy = data.aws_iam_policy_document.monitor_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "monitor" {
  count = local.monitored ? 1 : 0

  name   = "describe-rollback-alarms"
  role   = aws_iam_role.monitor[0].id
  policy = data.aws_iam_policy_document.monitor[0].json
}
