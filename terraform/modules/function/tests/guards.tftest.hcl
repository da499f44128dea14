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
  name         = "fn"
  handler      = "router.handler.lambda_handler"
  runtime      = "python3.12"
  memory_mb    = 256
  timeout_s    = 10
  architecture = "arm64"
  kms_key_arn  = "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000"
  package = {
    filename         = "tests/none.zip"
    source_code_hash = "AAAA"
  }
}

run "narrow_statements_plan" {
  command = plan

  variables {
    policy_statements = [{
      sid       = "InvokeCandidate"
      actions   = ["lambda:InvokeFunction"]
      resources = ["arn:aws:lambda:eu-west-3:123456789012:function:candidate:live"]
    }]
  }
}

run "wildcard_action_is_rejected" {
  command = plan

  variables {
    policy_statements = [{
      sid       = "TooBroad"
      actions   = ["lambda:*"]
      resources = ["arn:aws:lambda:eu-west-3:123456789012:function:candidate:live"]
    }]
  }

  expect_failures = [aws_iam_role_policy.this]
}

run "star_action_is_rejected" {
  command = plan

  variables {
    policy_statements = [{
      sid       = "Everything"
      actions   = ["*"]
      resources = ["arn:aws:lambda:eu-west-3:123456789012:function:candidate:live"]
    }]
  }

  expect_failures = [aws_iam_role_policy.this]
}

run "numeric_alias_is_rejected" {
  command = plan

  variables {
    alias_name = "42"
  }

  expect_failures = [aws_lambda_function.this]
}

run "alarm_trigger_invokes_the_alias_on_every_state_change_of_that_alarm" {
  command = plan

  variables {
    name     = "guard"
    schedule = { expression = "rate(1 minute)" }
    alarm_trigger = {
      alarm_arn = "arn:aws:cloudwatch:eu-west-3:123456789012:alarm:release-production-rollback"
    }
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.alarm[0].event_pattern) == {
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      resources     = ["arn:aws:cloudwatch:eu-west-3:123456789012:alarm:release-production-rollback"]
    }
    error_message = "the rule must match every state change of that one alarm."
  }
  assert {
    condition     = aws_lambda_permission.alarm[0].principal == "events.amazonaws.com" && aws_cloudwatch_event_rule.alarm[0].name != aws_cloudwatch_event_rule.schedule[0].name
    error_message = "EventBridge invokes through its own rule, beside the schedule."
  }
  assert {
    condition     = length(aws_iam_role_policy.read_alarms) == 1
    error_message = "a function triggered by an alarm may read alarm states."
  }
}

run "no_alarm_trigger_no_rule_and_no_alarm_reads" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.alarm) == 0 && length(aws_iam_role_policy.read_alarms) == 0
    error_message = "without alarm_trigger the function neither listens to nor reads alarms."
  }
}
