# Plan-time guards of the module, against a mocked AWS provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_region" {
    defaults = {
      id   = "eu-west-3"
      name = "eu-west-3"
    }
  }
  mock_data "aws_ssm_parameter" {
    defaults = {
      insecure_value = "arn:aws:lambda:eu-west-3:493207061005:layer:AWS-AppConfig-Extension-Arm64:192"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  application_name       = "flags"
  environment_name       = "production"
  profile_name           = "feature-flags"
  document_path          = "tests/flags.json"
  kept_documents_path    = "tests/flag-versions.json"
  kms_key_arn            = "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000"
  extension_architecture = "arm64"
  guard_strategy_name    = "release-guard"
  strategy = {
    name               = "linear"
    growth_type        = "LINEAR"
    growth_factor      = 100
    duration_minutes   = 0
    final_bake_minutes = 10
  }
}

run "the_layer_is_the_public_parameter_s" {
  command = plan

  assert {
    condition     = data.aws_ssm_parameter.extension_layer[0].name == "/aws/service/appconfig/extension/arm64/latest"
    error_message = "The public parameter of the functions' architecture is read."
  }
  assert {
    condition     = output.extension_layer_arn == "arn:aws:lambda:eu-west-3:493207061005:layer:AWS-AppConfig-Extension-Arm64:192"
    error_message = "The layer is the public parameter's value."
  }
}

run "a_layer_named_in_the_spec_wins_and_nothing_is_read" {
  command = plan

  variables {
    extension_layer_arn = "arn:aws:lambda:eu-west-3:493207061005:layer:AWS-AppConfig-Extension-Arm64:180"
  }

  assert {
    condition     = length(data.aws_ssm_parameter.extension_layer) == 0 && output.extension_layer_arn == "arn:aws:lambda:eu-west-3:493207061005:layer:AWS-AppConfig-Extension-Arm64:180"
    error_message = "An explicit layer replaces the parameter."
  }
}

run "every_kept_document_is_a_hosted_version_and_the_current_one_is_deployed" {
  command = plan

  assert {
    condition     = length(aws_appconfig_hosted_configuration_version.kept) == 2
    error_message = "the current document and the canary-off one must each be a hosted version."
  }
  assert {
    condition     = contains(keys(aws_appconfig_hosted_configuration_version.kept), terraform_data.document.input)
    error_message = "the deployed document must be among the kept versions."
  }
}

run "with_the_controller_the_document_no_longer_triggers_a_deployment" {
  command = plan

  variables {
    controller_enabled = true
  }

  assert {
    condition     = terraform_data.document.input == "controller"
    error_message = "With the controller on, only turning it on or off (or the first apply) deploys the document."
  }
  assert {
    condition     = aws_appconfig_deployment.this.description == "cutover document sha256:${local.document_sha256}"
    error_message = "The first deployment is still the spec's document."
  }
}

run "a_parameter_that_is_not_a_layer_fails_the_plan" {
  command = plan

  override_data {
    target = data.aws_ssm_parameter.extension_layer[0]
    values = {
      insecure_value = "not-a-layer"
    }
  }

  expect_failures = [output.extension_layer_arn]
}

run "no_monitor_and_the_guards_strategy_is_all_at_once_without_bake" {
  command = plan

  assert {
    condition     = length(aws_appconfig_environment.this.monitor) == 0
    error_message = "the environment must attach no AppConfig monitor: the guard is the only automatic flag rollback (docs/functions.md, Guard)."
  }
  assert {
    condition = (aws_appconfig_deployment_strategy.guard[0].deployment_duration_in_minutes == 0
      && aws_appconfig_deployment_strategy.guard[0].final_bake_time_in_minutes == 0
    && aws_appconfig_deployment_strategy.guard[0].growth_factor == 100)
    error_message = "the guard's strategy must deploy at once without bake."
  }
}
