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
  alias_name = "rel-prod-cutover"
}

run "creates_a_rotating_key_by_default" {
  command = plan

  assert {
    condition     = length(aws_kms_key.this) == 1 && aws_kms_key.this[0].enable_key_rotation
    error_message = "Without key_arn the module creates a key with rotation on."
  }
}

run "uses_the_spec_key_when_given" {
  command = plan

  variables {
    key_arn = "arn:aws:kms:eu-west-3:123456789012:key/11111111-1111-1111-1111-111111111111"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && output.key_arn == "arn:aws:kms:eu-west-3:123456789012:key/11111111-1111-1111-1111-111111111111"
    error_message = "With key_arn the module creates nothing and passes the ARN through."
  }
}
