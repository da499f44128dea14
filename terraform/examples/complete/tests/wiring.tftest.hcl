# Plans the canary-phase example against a mocked AWS provider:
# no credentials and no infrastructure, but every local, for_each, conditional
# and precondition of the modules is evaluated with real values.

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

run "canary_phase_wiring" {
  command = plan

  assert {
    condition = join(",", keys(module.alarms.alarm_names)) == join(",", [
      "user-read/canary-error-rate",
      "user-read/canary-error-rate-slow",
      "user-read/candidate-canary-error-rate",
      "user-read/candidate-canary-error-rate-slow",
      "user-read/router-error-rate",
      "user-read/served-error-rate",
      "user-read/shadow-dispatch-failure-rate",
      "user-read/shadow-error-rate",
    ])
    error_message = "The canary phase alarms on error rates only: five that roll back (the canary route's fast and slow windows, the router's crashes), three that notify (served errors, shadow)."
  }

  assert {
    condition     = length(module.alarms.rollback_alarm_names_by_judge["candidate"]) == 4 && length(module.alarms.rollback_alarm_names_by_judge["router"]) == 1 && length(module.alarms.rollback_alarm_names_by_judge["control"]) == 0
    error_message = "The candidate is judged by its canary route (four alarms), the router by its crashes; the control's errors judge nothing that rolls back."
  }

  assert {
    condition     = module.feature_flags.extension_layer_arn == "arn:aws:lambda:eu-west-3:493207061005:layer:AWS-AppConfig-Extension-Arm64:192"
    error_message = "The router must get the AppConfig extension the public parameter names."
  }

  assert {
    condition     = module.alarms.rollback_alarm_name == "huntaze-prisma-migration-production-rollback"
    error_message = "One composite rollback alarm per environment."
  }

  assert {
    condition     = join(",", keys(module.code_deploy.deployment_group_names)) == join(",", ["cleanup", "user-read-candidate", "user-read-control"])
    error_message = "Every alias needs a deployment group, or it never leaves its first version."
  }

  assert {
    condition     = module.user_read_candidate.alias_name == "live"
    error_message = "The router invokes the candidate's `live` alias."
  }
}
