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
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  application_name = "rel-prod-cutover"
  deployment_config = {
    name   = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    custom = false
  }
  deployment_groups = {
    "user-read-candidate" = { function_name = "candidate", alias_name = "live", alarm_names = ["rel-prod-user-read-canary-error-rate"] }
  }
  lifecycle_hook_function_names = ["CodeDeployHook_rel-prod"]
}

run "predefined_config_is_used_as_is" {
  command = plan

  assert {
    condition     = output.deployment_config_name == "CodeDeployDefault.LambdaCanary10Percent5Minutes" && length(aws_codedeploy_deployment_config.this) == 0
    error_message = "A predefined config creates no custom config."
  }
}

run "custom_config_needs_type_percentage_interval" {
  command = plan

  variables {
    deployment_config = {
      name   = "rel-canary"
      custom = true
    }
  }

  expect_failures = [aws_codedeploy_deployment_config.this]
}

run "at_most_ten_alarms_a_group" {
  command = plan

  variables {
    deployment_groups = {
      "user-read-candidate" = { function_name = "candidate", alias_name = "live", alarm_names = [for i in range(11) : "alarm-${i}"] }
    }
  }

  expect_failures = [aws_codedeploy_deployment_group.this]
}

run "a_group_without_alarms_renders_no_alarm_configuration" {
  command = plan

  variables {
    deployment_groups = {
      "user-read-router" = { function_name = "router", alias_name = "live" }
    }
  }

  assert {
    condition     = length(aws_codedeploy_deployment_group.this["user-read-router"].alarm_configuration) == 0
    error_message = "A group without alarms has no alarm_configuration."
  }
}

run "hooks_are_codedeploy_hook_functions" {
  command = plan

  variables {
    lifecycle_hook_function_names = ["my-probe"]
  }

  expect_failures = [var.lifecycle_hook_function_names]
}
