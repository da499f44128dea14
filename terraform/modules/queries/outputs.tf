output "query_definition_ids" {
  description = "Query definition IDs, keyed like var.queries."
  value       = { for k, q in aws_cloudwatch_query_definition.this : k => q.query_definition_id }
}
