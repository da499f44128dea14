output "rollback_alarm_name" {
  description = "Name of the composite rollback alarm (for CodeDeploy's deployment groups)."
  value       = aws_cloudwatch_composite_alarm.rollback.alarm_name
}

output "rollback_alarm_arn" {
  description = "ARN of the composite rollback alarm (for AppConfig's environment monitors, and whatever acts on it after a bake)."
  value       = aws_cloudwatch_composite_alarm.rollback.arn
}

output "alarm_names" {
  description = "Names of the metric alarms, keyed \"<path>/<kind>\" as in alarms.json."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}

output "topic_arn" {
  description = "ARN of the alarm topic: the composite's ALARM and OK, and every notify alarm's."
  value       = aws_sns_topic.this.arn
}
