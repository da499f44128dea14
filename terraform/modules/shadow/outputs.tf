output "event_invoke_config_id" {
  description = "ID of the event invoke configuration (function name and qualifier)."
  value       = aws_lambda_function_event_invoke_config.this.id
}
