variable "name" {
  description = "Lambda function name (1-64 of [a-zA-Z0-9-_]); also names its role, log group and DLQ."
  type        = string
}

variable "description" {
  description = "Function description."
  type        = string
  default     = null
}

variable "handler" {
  description = "Handler, module.function (for example router.handler.lambda_handler)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime (python3.12 or newer)."
  type        = string
}

variable "memory_mb" {
  description = "Memory in MB (128-10240)."
  type        = number
}

variable "timeout_s" {
  description = "Timeout in seconds (1-900)."
  type        = number
}

variable "architecture" {
  description = "Instruction set: x86_64 or arm64."
  type        = string
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (null: unreserved)."
  type        = number
  default     = null
}

variable "environment" {
  description = "Environment variables (never secrets); encrypted with kms_key_arn."
  type        = map(string)
  default     = {}
}

variable "layers" {
  description = "Layer version ARNs, in order."
  type        = list(string)
  default     = []
}

variable "package" {
  description = "The function's deployment package (zip path and its base64 sha256)."
  type = object({
    filename         = string
    source_code_hash = string
  })
}

variable "alias_name" {
  description = "Alias that clients call; CodeDeploy owns its version and weights after the first apply."
  type        = string
  default     = "live"
}

variable "kms_key_arn" {
  description = "KMS key for the environment, the log group and the dead-letter queue."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "vpc" {
  description = "VPC placement (null: not in a VPC)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "code_signing_config_arn" {
  description = "Code signing configuration ARN (null: none)."
  type        = string
  default     = null
}

variable "policy_statements" {
  description = "Extra IAM statements for the execution role, beyond logs, X-Ray, DLQ and KMS. Never a '*' action."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []
}

variable "schedule" {
  description = "EventBridge schedule that invokes the alias (null: none)."
  type = object({
    expression = string
    input      = optional(string)
  })
  default = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}

variable "alarm_trigger" {
  description = "Optional CloudWatch alarm whose every state change (EventBridge \"CloudWatch Alarm State Change\" event) invokes the alias; the role may then read alarm states (cloudwatch:DescribeAlarms on *, as composite alarms require). null: none."
  type = object({
    alarm_arn = string
  })
  default = null
}

variable "read_alarms" {
  description = "The role may read alarm states (cloudwatch:DescribeAlarms on *, as composite alarms require) without an alarm trigger (the controller function)."
  type        = bool
  default     = false
}
