# Saved CloudWatch Logs Insights queries: one definition per entry of
# var.queries, its text read from the file the generator rendered. The name's
# "/" puts them in one folder of the console.

resource "aws_cloudwatch_query_definition" "this" {
  for_each = var.queries

  name            = "${var.name_prefix}/${each.value.title}"
  query_string    = file(each.value.file)
  log_group_names = each.value.log_group_names
}
