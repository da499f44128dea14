variable "name_prefix" {
  description = "Prefix of the X-Ray group and sampling rule names (short: rule names are at most 32 characters)."
  type        = string
}

variable "canary_service_names" {
  description = "Service names (function names) whose traces are canary traffic."
  type        = list(string)
}

variable "group_filter_expression" {
  description = "X-Ray filter expression of the canary group (rendered by the generator, typed like the annotations the functions write)."
  type        = string
}

variable "canary_fixed_rate" {
  description = "Share of canary requests traced (0-1), above the default rate."
  type        = number
  default     = 1
}

variable "canary_reservoir_size" {
  description = "Traced canary requests per second before fixed_rate applies."
  type        = number
  default     = 5
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
