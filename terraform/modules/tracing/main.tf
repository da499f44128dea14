# X-Ray: a group that collects canary traces (the router sets the boolean
# annotation `canary = true` on requests routed to the candidate; the filter
# comes from the generator, which tests it against what the functions write)
# and sampling rules that
# trace the canary functions at a higher rate than the default rule
# (1 request/s + 5%) keeps for everything else.
#
# Sampling happens before the function runs, so a rule cannot match the
# `canary` annotation itself; it matches the functions that serve canary
# traffic (var.canary_service_names) instead.
#
# Caveat: X-Ray sampling is parent-based. The first traced service (the
# router's caller, or Lambda for the router) decides, and downstream services
# such as the candidate follow the decision in the trace header. The X-Ray
# guide lists API Gateway, AppSync, Step Functions and SDK/ADOT-instrumented
# compute as applying sampling rules, not Lambda's own active tracing, so this
# rule raises the canary rate only where such an entry point samples by it.

resource "aws_xray_group" "this" {
  group_name        = "${var.name_prefix}-canary"
  filter_expression = var.group_filter_expression

  insights_configuration {
    insights_enabled      = true
    notifications_enabled = false
  }

  tags = var.tags
}

resource "aws_xray_sampling_rule" "canary" {
  for_each = { for i, name in var.canary_service_names : name => i }

  # Rule names are at most 32 characters.
  rule_name = substr("${var.name_prefix}-c${each.value}", 0, 32)
  # Lower is evaluated first; well before the default rule (10000).
  priority       = 100 + each.value
  version        = 1
  reservoir_size = var.canary_reservoir_size
  fixed_rate     = var.canary_fixed_rate
  service_name   = each.key
  service_type   = "*"
  host           = "*"
  http_method    = "*"
  url_path       = "*"
  resource_arn   = "*"

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.canary_fixed_rate >= 0 && var.canary_fixed_rate <= 1
      error_message = "canary_fixed_rate must be between 0 and 1."
    }
  }
}
