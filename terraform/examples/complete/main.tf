# Canonical wiring of the cutover modules for one read path (user-read) in the
# canary phase: the router (the control, mock backend) serves every request,
# sends a sticky share of users to the candidate (PostgreSQL behind RDS Proxy,
# in the VPC) and mirrors a sample to it asynchronously (shadow); the cleanup
# function prunes old versions on a schedule. The generator's template for
# terraform/envs/<env>/main.tf imitates this file.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  release     = "huntaze-prisma-migration"
  environment = "production"
  name_prefix = "huntaze-prod"
  namespace   = "Cutover"
  runtime     = "python3.12"
  arch        = "arm64"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Function names are fixed here, not taken from module outputs, because the
  # alarms (which need them) feed feature_flags, which feeds the router.
  names = {
    control   = "huntaze-mock-read"
    candidate = "huntaze-prisma-read"
    cleanup   = "huntaze-cutover-cleanup"
  }

  appconfig = {
    application = "huntaze-flags"
    environment = local.environment
    profile     = "feature-flags"
  }

  package = {
    filename         = "${path.module}/fixtures/dummy.zip"
    source_code_hash = filebase64sha256("${path.module}/fixtures/dummy.zip")
  }

  common_environment = {
    CUTOVER_RELEASE           = local.release
    CUTOVER_METRICS_NAMESPACE = local.namespace
    CUTOVER_TRACING           = "Active"
    CUTOVER_TRACE_USER_ID     = "hashed"
  }

  tags = {
    "cutover:path" = "user-read"
  }
}

module "kms" {
  source = "../../modules/kms"

  alias_name = "${local.name_prefix}-cutover"
  tags       = local.tags
}

# Third-party wheels (psycopg, aws-xray-sdk) shared by the functions.
resource "aws_lambda_layer_version" "deps" {
  layer_name               = "${local.name_prefix}-deps-${local.arch}"
  filename                 = local.package.filename
  source_code_hash         = local.package.source_code_hash
  compatible_runtimes      = [local.runtime]
  compatible_architectures = [local.arch]
}

################################################################################
# Functions
################################################################################

module "user_read_candidate" {
  source = "../../modules/function"

  name                 = local.names.candidate
  description          = "user-read candidate: PostgreSQL via RDS Proxy"
  handler              = "candidate.handler.lambda_handler"
  runtime              = local.runtime
  architecture         = local.arch
  memory_mb            = 512
  timeout_s            = 10
  reserved_concurrency = 50
  package              = local.package
  layers               = [aws_lambda_layer_version.deps.arn]
  kms_key_arn          = module.kms.key_arn
  log_retention_days   = 365
  vpc                  = var.vpc

  environment = merge(local.common_environment, {
    CUTOVER_PATH          = "user-read"
    CUTOVER_DB_HOST       = var.database.proxy_endpoint
    CUTOVER_DB_PORT       = tostring(var.database.port)
    CUTOVER_DB_NAME       = var.database.name
    CUTOVER_DB_USER       = var.database.user
    CUTOVER_DB_IAM_AUTH   = "true"
    CUTOVER_DB_SSLMODE    = "verify-full"
    CUTOVER_COMPARE_RULES = jsonencode({ ignore_paths = [], numeric_tolerance = 0.0001, timestamp_tolerance_seconds = 1.0, unordered_lists = ["$.items"], redact_paths = ["$.email", "$.displayName"] })
  })

  # Connect to its proxy, as its database user, and nothing else.
  policy_statements = [{
    sid       = "ConnectToProxyAsReader"
    actions   = ["rds-db:connect"]
    resources = ["arn:${local.partition}:rds-db:${var.region}:${local.account_id}:dbuser:${var.database.proxy_resource_id}/${var.database.user}"]
  }]

  tags = local.tags
}

module "user_read_control" {
  source = "../../modules/function"

  name                 = local.names.control
  description          = "user-read router and control (mock backend)"
  handler              = "router.handler.lambda_handler"
  runtime              = local.runtime
  architecture         = local.arch
  memory_mb            = 512
  timeout_s            = 10
  reserved_concurrency = 100
  package              = local.package
  # The AppConfig Agent extension serves the flags on localhost:2772.
  layers             = [aws_lambda_layer_version.deps.arn, module.feature_flags.extension_layer_arn]
  kms_key_arn        = module.kms.key_arn
  log_retention_days = 365

  environment = merge(local.common_environment, {
    CUTOVER_PATH                                  = "user-read"
    CUTOVER_APPCONFIG_APPLICATION                 = local.appconfig.application
    CUTOVER_APPCONFIG_ENVIRONMENT                 = local.appconfig.environment
    CUTOVER_APPCONFIG_PROFILE                     = local.appconfig.profile
    CUTOVER_APPCONFIG_URL                         = "http://localhost:2772"
    CUTOVER_CANARY_FLAG                           = "prisma-adapter"
    CUTOVER_SHADOW_FLAG                           = "prisma-shadow"
    CUTOVER_FLAGS_TTL_MS                          = "5000"
    CUTOVER_FLAGS_BUDGET_MS                       = "50"
    CUTOVER_CANDIDATE_ARN                         = module.user_read_candidate.alias_arn
    CUTOVER_CANARY_TIMEOUT_MS                     = "1500"
    CUTOVER_CANARY_FALLBACK                       = "true"
    CUTOVER_SHADOW_DISPATCH_BUDGET_MS             = "5"
    AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS = "45"
    AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS   = "3000"
  })

  policy_statements = [
    {
      # The candidate's alias only: canary (sync) and shadow (async) calls.
      sid       = "InvokeCandidateAlias"
      actions   = ["lambda:InvokeFunction"]
      resources = [module.user_read_candidate.alias_arn]
    },
    {
      # The AppConfig extension reads this one configuration with the role.
      sid       = "ReadFeatureFlags"
      actions   = ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"]
      resources = [module.feature_flags.configuration_arn]
    },
  ]

  tags = local.tags
}

module "cleanup" {
  source = "../../modules/function"

  name                 = local.names.cleanup
  description          = "Prunes old function versions and hosted flag versions"
  handler              = "cleanup.handler.lambda_handler"
  runtime              = local.runtime
  architecture         = local.arch
  memory_mb            = 256
  timeout_s            = 120
  reserved_concurrency = 1
  package              = local.package
  layers               = [aws_lambda_layer_version.deps.arn]
  kms_key_arn          = module.kms.key_arn
  log_retention_days   = 365

  environment = merge(local.common_environment, {
    CUTOVER_CLEANUP_FUNCTIONS             = "${local.names.control},${local.names.candidate}"
    CUTOVER_CLEANUP_KEEP                  = "5"
    CUTOVER_CLEANUP_APPCONFIG_APPLICATION = local.appconfig.application
    CUTOVER_CLEANUP_APPCONFIG_PROFILE     = local.appconfig.profile
    CUTOVER_CLEANUP_DRY_RUN               = "true"
  })

  policy_statements = [
    {
      sid     = "PruneFunctionVersions"
      actions = ["lambda:ListVersionsByFunction", "lambda:ListAliases", "lambda:DeleteFunction"]
      resources = flatten([for n in [local.names.control, local.names.candidate] : [
        "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${n}",
        "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${n}:*",
      ]])
    },
    {
      sid       = "PruneHostedFlagVersions"
      actions   = ["appconfig:ListHostedConfigurationVersions", "appconfig:DeleteHostedConfigurationVersion"]
      resources = ["${module.feature_flags.application_arn}/configurationprofile/${module.feature_flags.profile_id}/hostedconfigurationversion/*", "${module.feature_flags.application_arn}/configurationprofile/${module.feature_flags.profile_id}"]
    },
  ]

  schedule = {
    expression = "rate(1 day)"
    input      = jsonencode({ dryRun = false })
  }

  tags = local.tags
}

################################################################################
# Shadow, code deployment, flags
################################################################################

module "user_read_shadow" {
  source = "../../modules/shadow"

  function_name                = module.user_read_candidate.function_name
  qualifier                    = module.user_read_candidate.alias_name
  maximum_event_age_in_seconds = 60
  on_failure_destination_arn   = module.user_read_candidate.dlq_arn
}

module "code_deploy" {
  source = "../../modules/code_deploy"

  application_name = "${local.name_prefix}-cutover"

  deployment_config = {
    name             = "${local.name_prefix}-canary-10pct-5min"
    custom           = true
    type             = "TimeBasedCanary"
    percentage       = 10
    interval_minutes = 5
  }

  deployment_groups = {
    # Each group lists the member metric alarms that judge its code, never the composite.
    "user-read-candidate" = {
      function_name = module.user_read_candidate.function_name
      alias_name    = module.user_read_candidate.alias_name
      alarm_names   = [module.alarms.alarm_names["user-read/canary-error-rate"], module.alarms.alarm_names["user-read/candidate-canary-error-rate"]]
    }
    "user-read-control" = {
      function_name = module.user_read_control.function_name
      alias_name    = module.user_read_control.alias_name
      alarm_names   = [module.alarms.alarm_names["user-read/router-error-rate"], module.alarms.alarm_names["user-read/served-error-rate"]]
    }
    "cleanup" = { function_name = module.cleanup.function_name, alias_name = module.cleanup.alias_name }
  }

  tags = local.tags
}

module "feature_flags" {
  source = "../../modules/feature_flags"

  application_name       = local.appconfig.application
  environment_name       = local.appconfig.environment
  profile_name           = local.appconfig.profile
  document_path          = "${path.module}/fixtures/flags.json"
  kept_documents_path    = "${path.module}/fixtures/flag-versions.json"
  kms_key_arn            = module.kms.key_arn
  extension_architecture = local.arch

  strategy = {
    name               = "${local.name_prefix}-flags-all-at-once"
    growth_type        = "LINEAR"
    growth_factor      = 100
    duration_minutes   = 0
    final_bake_minutes = 10
  }

  # No monitor: the guard function (rendered envs) is the only automatic flag
  # rollback while the same single signal is in ALARM (docs/functions.md).

  tags = local.tags
}

################################################################################
# Observability
################################################################################

module "alarms" {
  source = "../../modules/alarms"

  name_prefix = local.name_prefix
  kms_key_arn = module.kms.key_arn

  # The alarms as the generator renders them (fixtures/alarms.json is a copy of
  # terraform/envs/production/alarms.json; a test keeps them equal).
  definitions = jsondecode(file("${path.module}/fixtures/alarms.json"))

  notification_emails = ["oncall@example.com"]

  tags = local.tags
}

module "dashboard" {
  source = "../../modules/dashboard"

  name      = "${local.name_prefix}-cutover"
  body_path = "${path.module}/fixtures/dashboard.json"
}

module "queries" {
  source = "../../modules/queries"

  name_prefix = "cutover/${local.name_prefix}"

  queries = {
    "shadow-diffs-by-path" = {
      title           = "Shadow differences by path"
      file            = "${path.module}/fixtures/queries/shadow-diffs-by-path.query"
      log_group_names = [module.user_read_candidate.log_group_name]
    }
    "canary-errors" = {
      title           = "Canary errors and fallbacks"
      file            = "${path.module}/fixtures/queries/canary-errors.query"
      log_group_names = [module.user_read_control.log_group_name]
    }
  }
}

module "tracing" {
  source = "../../modules/tracing"

  name_prefix             = local.name_prefix
  canary_service_names    = [local.names.candidate]
  group_filter_expression = "annotation.canary = true" # the router writes canary as a boolean
  canary_fixed_rate       = 1
  tags                    = local.tags
}
