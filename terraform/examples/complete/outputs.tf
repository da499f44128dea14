output "candidate_alias_arn" {
  description = "What the router invokes."
  value       = module.user_read_candidate.alias_arn
}

output "rollback_alarm_name" {
  description = "The single rollback signal."
  value       = module.alarms.rollback_alarm_name
}
