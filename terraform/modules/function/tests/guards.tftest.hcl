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
