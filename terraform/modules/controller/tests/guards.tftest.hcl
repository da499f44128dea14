# Plan-time behaviour of the module, against a mocked AWS provider.

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
  name            = "rel-prod-controller"
  definition_path = "tests/controller.asl.json"
  function_arn    = "arn:aws:lambda:eu-west-3:123456789012:function:rel-prod-controller"
  application_id  = "abc1234"
  environment_id  = "def5678"
  environment_arn = "arn:aws:appconfig:eu-west-3:123456789012:application/abc1234/environment/def5678"
  profile_id      = "ghi9012"
  profile_arn     = "arn:aws:appconfig:eu-west-3:123456789012:application/abc1234/configurationprofile/ghi9012"
  strategy_id     = "jkl3456"
  strategy_arn    = "arn:aws:appconfig:eu-west-3:123456789012:deploymentstrategy/jkl3456"
  kms_key_arn     = "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000"
  topic_arn       = "arn:aws:sns:eu-west-3:123456789012:rel-prod-alarms"
}

run "terraform_fills_in_its_ids_and_leaves_the_context_paths" {
  command = plan

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Survey.Parameters.FunctionName == var.function_arn
    error_message = "The controller function's ARN goes into every call."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Survey.Parameters.Payload["execution.$"] == "$$.Execution.Id"
    error_message = "templatefile() must leave the context object's $$. paths as they are."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Deploy.Parameters.DeploymentStrategyId == "jkl3456" && jsondecode(aws_sfn_state_machine.this.definition).States.Notify.Parameters.TopicArn == var.topic_arn
    error_message = "Every placeholder gets its value."
  }
}

run "encrypted_traced_and_logged_without_data" {
  command = plan

  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD" && aws_sfn_state_machine.this.encryption_configuration[0].kms_key_id == var.kms_key_arn && aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "A standard state machine, encrypted with the release key, traced."
  }
  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].include_execution_data == false && aws_sfn_state_machine.this.logging_configuration[0].level == "ALL"
    error_message = "Every transition is logged, without its data."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The log group is encrypted and kept."
  }
}

run "without_a_schedule_only_a_person_starts_it" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.schedule) == 0 && length(aws_iam_role.schedule) == 0
    error_message = "No schedule, no rule and no role."
  }
}

run "a_schedule_starts_it_with_a_role_of_its_own" {
  command = plan

  variables {
    schedule = "rate(1 hour)"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.schedule[0].schedule_expression == "rate(1 hour)"
    error_message = "The spec's schedule."
  }
  assert {
    condition     = aws_cloudwatch_event_target.schedule[0].input == "{\"startedBy\":\"schedule\"}"
    error_message = "A scheduled execution says who started it."
  }
  assert {
    condition     = length(aws_iam_role.schedule) == 1 && length(aws_iam_role_policy.schedule) == 1
    error_message = "The schedule has its own role."
  }
}

run "a_name_step_functions_refuses_fails_the_plan" {
  command = plan

  variables {
    name = "not a name"
  }

  expect_failures = [var.name]
}
