output "rollback_alarm_name" {
  description = "Name of the composite rollback alarm (for CodeDeploy's deployment groups)."
  value       = aws_cloudwatch_composite_alarm.rollback.alarm_name
}

output "rollback_alarm_arn" {
  description = "ARN of the composite rollback alarm (for AppConfig's environment monitors)."
  value       = aws_cloudwatch_composite_alarm.rollback.arn
}

output "alarm_names" {
  description = "Names of the guardrail alarms, keyed \"<path>/<kind>\" (kind: candidate-error-rate, router-error-rate, served-error-rate, p95-regression, shadow-diff-rate, canary-share)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}

output "topic_arn" {
  description = "ARN of the alarm notification topic."
  value       = aws_sns_topic.this.arn
}
