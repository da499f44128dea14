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
  name_prefix       = "rel-prod"
  release           = "rel"
  metrics_namespace = "Cutover"
  kms_key_arn       = "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000"
  paths = {
    "user-read" = {
      alias_name         = "live"
      candidate_function = "candidate"
      router_function    = "router"
      control_function   = "router"
      canary_percent     = 0
      shadow_enabled     = true
    }
  }
  guardrails = {
    error_rate_pct           = 1
    p95_regression_pct       = 20
    shadow_diff_pct          = 0.5
    canary_share_min_ratio   = 0.5
    canary_share_max_ratio   = 2
    min_samples              = 50
    period_seconds           = 60
    evaluation_periods       = 5
    datapoints_to_alarm      = 3
    missing_data_error_rate  = "notBreaching"
    missing_data_latency     = "notBreaching"
    missing_data_shadow_diff = "notBreaching"
    missing_data_canary      = "notBreaching"
  }
}

run "shadow_phase_has_no_canary_share_alarm" {
  command = plan

  assert {
    condition     = !contains(keys(output.alarm_names), "user-read/canary-share") && contains(keys(output.alarm_names), "user-read/shadow-diff-rate")
    error_message = "canary_percent 0 (shadow phase) must not alarm on canary share."
  }
}

run "period_must_be_valid" {
  command = plan

  variables {
    guardrails = {
      error_rate_pct           = 1
      p95_regression_pct       = 20
      shadow_diff_pct          = 0.5
      canary_share_min_ratio   = 0.5
      canary_share_max_ratio   = 2
      min_samples              = 50
      period_seconds           = 45
      evaluation_periods       = 5
      datapoints_to_alarm      = 3
      missing_data_error_rate  = "notBreaching"
      missing_data_latency     = "notBreaching"
      missing_data_shadow_diff = "notBreaching"
      missing_data_canary      = "notBreaching"
    }
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this]
}
