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

# The event ledger: Lambda can deliver one asynchronous event twice, to two
# execution environments, even with retries at 0. The candidate writes each event
# id here with a conditional put, and only the first writer reports the comparison
# (functions/candidate/event_ledger.py). Items expire by TTL after six hours, longer
# than Lambda keeps an event.
resource "aws_dynamodb_table" "ledger" {
  count = var.ledger_table_name == null ? 0 : 1

  name         = var.ledger_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "eventId"

  attribute {
    name = "eventId"
    type = "S"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null
      error_message = "The event ledger is encrypted with the release's key: set kms_key_arn."
    }
  }
}
