# The release's CloudWatch dashboard. The generator renders the body (widgets per
# read path, from the metric names in docs/contracts.md); this module only
# uploads it, so a change to the rendered file is a change to the dashboard.

locals {
  # The body is a template (alarm ARNs hold the account id, unknown when rendering),
  # and the rendered file says it is generated in a "//" key that CloudWatch would reject.
  body = jsondecode(templatefile(var.body_path, var.template_vars))
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ for key, value in local.body : key => value if key != "//" })
}
