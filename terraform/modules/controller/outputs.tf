output "state_machine_arn" {
  description = "ARN of the controller's state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "Name of the controller's state machine."
  value       = aws_sfn_state_machine.this.name
}

output "role_arn" {
  description = "ARN of the state machine's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the state machine's log group."
  value       = aws_cloudwatch_log_group.this.name
}
