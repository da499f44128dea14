# The release's CloudWatch dashboard. The generator renders the body (widgets per
# read path, from the metric names in docs/contracts.md); this module only
# uploads it, so a change to the rendered file is a change to the dashboard.

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = file(var.body_path)
}
