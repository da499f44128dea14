variable "function_name" {
  description = "The candidate function that receives shadow (asynchronous) invocations."
  type        = string
}

variable "qualifier" {
  description = "The candidate alias the router invokes."
  type        = string
}

variable "maximum_event_age_in_seconds" {
  description = "How long a shadow event may wait before it is dropped (60-21600)."
  type        = number
  default     = 60
}

variable "on_failure_destination_arn" {
  description = "Where failed or expired shadow events go (the candidate's DLQ)."
  type        = string
}

variable "ledger_table_name" {
  description = "DynamoDB table where the candidate records the shadow events it reported, so a duplicate delivery is reported once (null: no table)."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the event ledger."
  type        = string
  default     = null
}
