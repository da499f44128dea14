output "arn" {
  description = "ARN of the layer version (what a function's layers list takes)."
  value       = aws_lambda_layer_version.this.arn
}
