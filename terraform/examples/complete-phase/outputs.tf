output "candidate_alias_arn" {
  description = "The path's only backend."
  value       = module.user_read_candidate.alias_arn
}

output "rollback_alarm_name" {
  description = "The single rollback signal."
  value       = module.alarms.rollback_alarm_name
}
