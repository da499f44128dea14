# AppConfig feature flags of one release environment: the application,
# environment (no alarm monitor: the guard function is the only automatic flag
# rollback), an AWS.AppConfig.FeatureFlags profile, the rendered document as a hosted
# configuration version, a deployment strategy from the spec, and a deployment
# whenever the document changes.

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

  # No `monitor`: an AppConfig monitor rolls a deployment back "to the previous
  # version" (a canary-on step, not 0), also on INSUFFICIENT_DATA (a new composite
  # alarm starts there, so the first apply would roll its own flags back), and what
  # it does to a deployment started while its alarm is in ALARM is undocumented
  # (docs/aws-rules.md, AppConfig). The guard function turns the canary off instead,
  # level-triggered, while the rollback alarm is in ALARM (docs/functions.md).

  tags = var.tags
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

# The guard's strategy (and `cutover rollback`'s): all at once and no bake, so the
# canary-off document is served by every client at its next poll and the deployment
# is over at once (one deployment per environment at a time: a bake would block the
# next one for nothing).
resource "aws_appconfig_deployment_strategy" "guard" {
  count = var.guard_strategy_name == null ? 0 : 1

  name                           = var.guard_strategy_name
  description                    = "cutover guard: canary off at once (${var.description})"
  growth_type                    = "LINEAR"
  growth_factor                  = 100
  deployment_duration_in_minutes = 0
  final_bake_time_in_minutes     = 0
  replicate_to                   = "NONE"

  tags = var.tags
}

# Releases rendered with the brake had this strategy at the brake's address.
moved {
  from = aws_appconfig_deployment_strategy.brake
  to   = aws_appconfig_deployment_strategy.guard
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
# replaced version in the same apply that deploys the new one, and
# `stop-deployment --allow-revert` (the guard's, or an operator's) returns to the
# previous version, which must still exist (docs/aws-rules.md, AppConfig).
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
# back the same after a delete (hashicorp/terraform-provider-aws#20273).
#
# With the controller on, the controller deploys the steps (kept versions, through
# AppConfig's SDK integration) and Terraform must not deploy the spec's document
# over them: the trigger is the constant "controller", so the first apply deploys
# the spec's document once and later document changes deploy nothing (`cutover
# ramp --sync` writes what is served back into the spec). Turning the controller
# on or off changes the trigger: that apply deploys the spec's document once.
resource "terraform_data" "document" {
  input = var.controller_enabled ? "controller" : local.document_sha256
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

  # The version and the description follow the document only through the
  # trigger above: a changed document replaces the deployment (a new one) unless
  # the controller owns the deployments, and is never an in-place update.
  lifecycle {
    ignore_changes       = [configuration_version, description]
    replace_triggered_by = [terraform_data.document]
  }
}
