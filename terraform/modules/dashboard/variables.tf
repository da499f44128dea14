variable "name" {
  description = "CloudWatch dashboard name."
  type        = string
}

variable "body_path" {
  description = "Path of the rendered dashboard body (JSON)."
  type        = string
}

variable "template_vars" {
  description = "Values for the template placeholders of the body, such as rollback_alarm_arn."
  type        = map(string)
  default     = {}
}
