output "key_arn" {
  description = "ARN of the key in use: the created key, or var.key_arn when the spec brings its own."
  value       = local.create ? aws_kms_key.this[0].arn : var.key_arn
}
