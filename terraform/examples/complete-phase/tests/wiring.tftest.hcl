# Plans the example against a mocked AWS provider:
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
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

run "complete_phase_wiring" {
  command = plan

  assert {
    condition     = join(",", keys(module.alarms.alarm_names)) == join(",", ["user-read/candidate-canary-error-rate", "user-read/candidate-error-rate"])
    error_message = "Without router and control only the candidate's error rates remain."
  }

  assert {
    condition     = module.user_read_control.function_name == "huntaze-mock-read" && module.user_read_control.alias_name == "live"
    error_message = "Clients keep calling the same function name and alias."
  }

  assert {
    condition     = join(",", keys(module.code_deploy.deployment_group_names)) == join(",", ["cleanup", "user-read-candidate", "user-read-entry"])
    error_message = "The entry keeps its deployment group: the candidate's code reaches it through CodeDeploy."
  }
}
