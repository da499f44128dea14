# Shadow wiring: the router invokes the candidate's alias asynchronously
# (InvocationType=Event) with a copy of each sampled request. A shadow call is
# never retried: a retry would re-run the comparison (double-counting metrics)
# and Lambda would otherwise retry function errors twice and throttles for up to
# six hours. A failed or expired event goes to the candidate's DLQ instead.

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name = var.function_name
  qualifier     = var.qualifier

  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = var.on_failure_destination_arn
    }
  }

  lifecycle {
    precondition {
      condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600
      error_message = "maximum_event_age_in_seconds must be 60-21600."
    }
  }
}
