output "entrypoint_alias_arn" {
  description = "The alias clients call, now served by the candidate's code."
  value       = module.user_read_control.alias_arn
}

output "rollback_alarm_name" {
  description = "The single rollback signal."
  value       = module.alarms.rollback_alarm_name
}
