# The same read path as ../complete, once the release is `complete`: clients keep
# calling the same function and alias (module.user_read_control, `live`), which now
# runs the candidate's code: its package, handler, database settings, VPC and IAM.
# The apply publishes a new version of that function; a CodeDeploy deployment
# (group "user-read-entry") shifts the alias to it and rolls back on the alarm, like
# any code change. The router's last version stays the rollback target, so the
# candidate function stays and the entry's role keeps the router's invoke
# statement (the generated root also keeps the flags, at 100%, for the same reason).
# Gone: the shadow wiring (module.user_read_shadow) and the canary traces
# (module.tracing). Every other module block keeps its name, so the plan from
# ../complete to this file shows updates in place, nothing recreated.

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

  names = {
    control   = "huntaze-mock-read"
    candidate = "huntaze-prisma-read"
    cleanup   = "huntaze-cutover-cleanup"
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

resource "aws_lambda_layer_version" "deps" {
  layer_name               = "${local.name_prefix}-deps-${local.arch}"
  filename                 = local.package.filename
  source_code_hash         = local.package.source_code_hash
  compatible_runtimes      = [local.runtime]
  compatible_architectures = [local.arch]
}

module "user_read_control" {
  source = "../../modules/function"

  name                 = local.names.control
  description          = "user-read entry: the candidate's code (PostgreSQL via RDS Proxy)"
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

  policy_statements = [
    {
      sid       = "ConnectToProxyAsReader"
      actions   = ["rds-db:connect"]
      resources = ["arn:${local.partition}:rds-db:${var.region}:${local.account_id}:dbuser:${var.database.proxy_resource_id}/${var.database.user}"]
    },
    {
      # the router's last version (the CodeDeploy rollback target) still invokes it
      sid       = "InvokeCandidateAliasOnly"
      actions   = ["lambda:InvokeFunction"]
      resources = [module.user_read_candidate.alias_arn]
    },
  ]

  tags = local.tags
}

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

  policy_statements = [{
    sid       = "ConnectToProxyAsReader"
    actions   = ["rds-db:connect"]
    resources = ["arn:${local.partition}:rds-db:${var.region}:${local.account_id}:dbuser:${var.database.proxy_resource_id}/${var.database.user}"]
  }]

  tags = local.tags
}

module "cleanup" {
  source = "../../modules/function"

  name                 = local.names.cleanup
  description          = "Prunes old function versions"
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
    CUTOVER_CLEANUP_APPCONFIG_APPLICATION = ""
    CUTOVER_CLEANUP_APPCONFIG_PROFILE     = ""
    CUTOVER_CLEANUP_DRY_RUN               = "true"
  })

  policy_statements = [{
    sid     = "PruneFunctionVersions"
    actions = ["lambda:ListVersionsByFunction", "lambda:ListAliases", "lambda:DeleteFunction"]
    resources = [
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.names.control}",
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.names.control}:*",
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.names.candidate}",
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.names.candidate}:*",
    ]
  }]

  schedule = {
    expression = "rate(1 day)"
    input      = jsonencode({ dryRun = false })
  }

  tags = local.tags
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
    "user-read-entry" = {
      function_name = module.user_read_control.function_name
      alias_name    = module.user_read_control.alias_name
      alarm_names   = [module.alarms.alarm_names["user-read/candidate-canary-error-rate"], module.alarms.alarm_names["user-read/candidate-error-rate"]]
    }
    "user-read-candidate" = {
      function_name = module.user_read_candidate.function_name
      alias_name    = module.user_read_candidate.alias_name
      alarm_names   = [module.alarms.alarm_names["user-read/candidate-canary-error-rate"], module.alarms.alarm_names["user-read/candidate-error-rate"]]
    }
    "cleanup" = { function_name = module.cleanup.function_name, alias_name = module.cleanup.alias_name }
  }

  tags = local.tags
}

module "alarms" {
  source = "../../modules/alarms"

  name_prefix = local.name_prefix
  kms_key_arn = module.kms.key_arn

  # The alarms as the generator renders them for a complete release (a copy of
  # tests/golden/complete-phase/expected/alarms.json; a test keeps them equal).
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
    "candidate-errors" = {
      title           = "Candidate errors"
      file            = "${path.module}/fixtures/queries/candidate-errors.query"
      log_group_names = [module.user_read_control.log_group_name]
    }
  }
}
