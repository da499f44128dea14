output "event_invoke_config_id" {
  description = "ID of the event invoke configuration (function name and qualifier)."
  value       = aws_lambda_function_event_invoke_config.this.id
}

output "ledger_table_name" {
  description = "Name of the shadow event ledger (null when there is none)."
  value       = one(aws_dynamodb_table.ledger[*].name)
}

output "ledger_table_arn" {
  description = "ARN of the shadow event ledger, for the candidate's dynamodb:PutItem (null when there is none)."
  value       = one(aws_dynamodb_table.ledger[*].arn)
}
