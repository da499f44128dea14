output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "version" {
  description = "Version published by the last apply (the target of the next CodeDeploy deployment)."
  value       = aws_lambda_function.this.version
}

output "alias_name" {
  description = "Name of the alias clients call."
  value       = aws_lambda_alias.this.name
}

output "alias_arn" {
  description = "Qualified ARN of the alias (what the router invokes and IAM grants on)."
  value       = aws_lambda_alias.this.arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "dlq_arn" {
  description = "ARN of the function's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}
