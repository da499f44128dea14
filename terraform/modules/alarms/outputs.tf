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

output "rollback_alarm_names_by_judge" {
  description = "Names of the rollback (member) metric alarms per judges value (router, candidate, control): what a CodeDeploy deployment group of that function lists (at most 10 alarms per group)."
  value = {
    for judge in ["router", "candidate", "control"] : judge => sort([
      for k in var.definitions.rollback.members : aws_cloudwatch_metric_alarm.this[k].alarm_name
      if var.definitions.alarms[k].judges == judge
    ])
  }
}
