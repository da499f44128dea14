variable "name" {
  description = "CloudWatch dashboard name."
  type        = string
}

variable "body_path" {
  description = "Path of the rendered dashboard body (JSON)."
  type        = string
}
