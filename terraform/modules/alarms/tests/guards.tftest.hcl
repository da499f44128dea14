# The module against a mocked AWS provider: it creates what the definitions say,
# and its guards reject definitions CloudWatch or the composite would not take.

mock_provider "aws" {
  override_during = plan
  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-3:123456789012:rel-prod-alarms"
    }
  }
}

variables {
  name_prefix = "rel-prod"
  kms_key_arn = "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000"
  definitions = {
    "//"   = "extra keys, like the generated file's marker, are dropped by the type"
    format = "cutover.alarms/1"
    rollback = {
      name        = "rel-prod-rollback"
      description = "Rollback signal."
      members     = ["user-read/served-error-rate"]
    }
    alarms = {
      "user-read/served-error-rate" = {
        name                      = "rel-prod-user-read-served-error-rate"
        description               = "served errors"
        role                      = "rollback"
        judges                    = "router"
        threshold                 = 2
        comparison                = "GreaterThanThreshold"
        period                    = 60
        evaluation_periods        = 5
        datapoints_to_alarm       = 3
        treat_missing_data        = "notBreaching"
        treat_missing_data_reason = "kept in the file, not needed here"
        metrics = [
          { id = "err", namespace = "Cutover", metric_name = "Errors", stat = "Sum", dimensions = { Release = "rel", Path = "user-read" } },
          { id = "req", namespace = "Cutover", metric_name = "Requests", stat = "Sum", dimensions = { Release = "rel", Path = "user-read" } },
        ]
        expressions = [
          { id = "samples", expression = "FILL(req, 0)", label = "samples", return_data = false },
          { id = "errors", expression = "FILL(err, 0)", label = "errors", return_data = false },
          { id = "rate", expression = "IF(samples >= 50 AND errors >= 3, 100 * errors / samples, 0)", label = "rate", return_data = true },
        ]
      }
      "user-read/shadow-error-rate" = {
        name                = "rel-prod-user-read-shadow-error-rate"
        description         = "shadow errors"
        role                = "notify"
        judges              = "candidate"
        threshold           = 2
        comparison          = "GreaterThanThreshold"
        period              = 600
        evaluation_periods  = 1
        datapoints_to_alarm = 1
        treat_missing_data  = "notBreaching"
        metrics = [
          { id = "err", namespace = "Cutover", metric_name = "ShadowErrors", stat = "Sum", dimensions = { Release = "rel", Path = "user-read" } },
          { id = "sent", namespace = "Cutover", metric_name = "ShadowDispatched", stat = "Sum", dimensions = { Release = "rel", Path = "user-read" } },
        ]
        expressions = [
          { id = "rate", expression = "IF(FILL(sent, 0) >= 50, 100 * FILL(err, 0) / FILL(sent, 0), 0)", label = "rate", return_data = true },
        ]
      }
    }
  }
}

run "creates_what_the_definitions_say" {
  command = plan

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["user-read/shadow-error-rate"].period == null && length(aws_cloudwatch_metric_alarm.this["user-read/shadow-error-rate"].metric_query) == 3
    error_message = "A metric-math alarm has its metrics and expressions as metric queries, and no period of its own."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["user-read/served-error-rate"].evaluation_periods == 5 && aws_cloudwatch_metric_alarm.this["user-read/served-error-rate"].datapoints_to_alarm == 3
    error_message = "Each alarm keeps its own M of N."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this["user-read/served-error-rate"].alarm_actions) == 0
    error_message = "A rollback alarm acts only through the composite."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["user-read/shadow-error-rate"].alarm_actions == toset(["arn:aws:sns:eu-west-3:123456789012:rel-prod-alarms"])
    error_message = "A notify alarm notifies the topic."
  }

  assert {
    condition     = aws_cloudwatch_composite_alarm.rollback.alarm_rule == "ALARM(\"rel-prod-user-read-served-error-rate\")"
    error_message = "The composite ORs its members, and only them (never a notify alarm)."
  }
}

run "rollback_members_are_listed_per_judge" {
  command = plan

  assert {
    condition     = jsonencode(output.rollback_alarm_names_by_judge) == jsonencode({ candidate = [], control = [], router = ["rel-prod-user-read-served-error-rate"] })
    error_message = "Each judge lists its rollback members (what a CodeDeploy group of that function watches), never a notify alarm."
  }
}

run "judges_must_be_router_candidate_or_control" {
  command = plan

  variables {
    definitions = {
      rollback = {
        name        = "rel-prod-rollback"
        description = "Rollback signal."
        members     = ["user-read/served-error-rate"]
      }
      alarms = {
        "user-read/served-error-rate" = {
          name                = "rel-prod-user-read-served-error-rate"
          description         = "served errors"
          role                = "rollback"
          judges              = "nobody"
          threshold           = 2
          comparison          = "GreaterThanThreshold"
          period              = 60
          evaluation_periods  = 5
          datapoints_to_alarm = 3
          treat_missing_data  = "notBreaching"
          metrics             = []
          expressions         = [{ id = "rate", expression = "TIME_SERIES(0)", label = "rate", return_data = true }]
        }
      }
    }
  }

  expect_failures = [var.definitions]
}

run "rollback_actions_act_on_alarm_only" {
  command = plan

  variables {
    rollback_action_arns = ["arn:aws:lambda:eu-west-3:123456789012:function:brake"]
  }

  assert {
    condition     = contains(aws_cloudwatch_composite_alarm.rollback.alarm_actions, "arn:aws:lambda:eu-west-3:123456789012:function:brake") && !contains(aws_cloudwatch_composite_alarm.rollback.ok_actions, "arn:aws:lambda:eu-west-3:123456789012:function:brake")
    error_message = "Extra rollback actions run on ALARM, not on OK."
  }
}

run "a_member_must_be_a_rollback_alarm" {
  command = plan

  variables {
    definitions = {
      rollback = {
        name        = "rel-prod-rollback"
        description = "Rollback signal."
        members     = ["user-read/shadow-error-rate"]
      }
      alarms = {
        "user-read/shadow-error-rate" = {
          name                = "rel-prod-user-read-shadow-error-rate"
          description         = "shadow errors"
          role                = "notify"
          judges              = "candidate"
          threshold           = 2
          comparison          = "GreaterThanThreshold"
          period              = 600
          evaluation_periods  = 1
          datapoints_to_alarm = 1
          treat_missing_data  = "notBreaching"
          metrics             = []
          expressions         = [{ id = "rate", expression = "TIME_SERIES(0)", label = "rate", return_data = true }]
        }
      }
    }
  }

  expect_failures = [var.definitions]
}

run "period_must_be_valid" {
  command = plan

  variables {
    definitions = {
      rollback = {
        name        = "rel-prod-rollback"
        description = "Rollback signal."
        members     = ["user-read/served-error-rate"]
      }
      alarms = {
        "user-read/served-error-rate" = {
          name                = "rel-prod-user-read-served-error-rate"
          description         = "served errors"
          role                = "rollback"
          judges              = "candidate"
          threshold           = 2
          comparison          = "GreaterThanThreshold"
          period              = 45
          evaluation_periods  = 5
          datapoints_to_alarm = 3
          treat_missing_data  = "notBreaching"
          metrics             = []
          expressions         = [{ id = "rate", expression = "TIME_SERIES(0)", label = "rate", return_data = true }]
        }
      }
    }
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this]
}
