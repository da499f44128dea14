variable "alias_name" {
  description = "Alias (without the alias/ prefix) for the customer-managed key created when key_arn is null."
  type        = string
}

variable "key_arn" {
  description = "ARN of an existing KMS key to use instead of creating one (null: create a key with rotation on)."
  type        = string
  default     = null
}

variable "deletion_window_in_days" {
  description = "Waiting period before a created key is deleted (7-30)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
