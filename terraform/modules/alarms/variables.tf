variable "name_prefix" {
  description = "Prefix of the topic name (the release name and environment)."
  type        = string
}

variable "definitions" {
  description = "The alarms, as the generator decided them: jsondecode of terraform/envs/<env>/alarms.json (format cutover.alarms/1). `judges` says whose code or route an alarm's breach blames. Extra keys (the \"//\" marker, reasons) are dropped by the type."
  type = object({
    rollback = object({
      name        = string
      description = string
      members     = list(string)
    })
    alarms = map(object({
      name                = string
      description         = string
      role                = string
      judges              = string
      threshold           = number
      comparison          = string
      period              = number
      evaluation_periods  = number
      datapoints_to_alarm = number
      treat_missing_data  = string
      metrics = list(object({
        id          = string
        namespace   = string
        metric_name = string
        stat        = string
        dimensions  = map(string)
      }))
      expressions = list(object({
        id          = string
        expression  = string
        label       = string
        return_data = bool
      }))
    }))
  })

  validation {
    condition     = alltrue([for a in values(var.definitions.alarms) : contains(["rollback", "notify"], a.role)])
    error_message = "Every alarm's role must be \"rollback\" or \"notify\"."
  }

  validation {
    condition     = alltrue([for a in values(var.definitions.alarms) : contains(["router", "candidate", "control"], a.judges)])
    error_message = "Every alarm's judges must be \"router\", \"candidate\" or \"control\" (whose code or route its breach blames)."
  }

  validation {
    condition = length(var.definitions.rollback.members) > 0 && alltrue([
      for k in var.definitions.rollback.members : contains(keys(var.definitions.alarms), k) && try(var.definitions.alarms[k].role, "") == "rollback"
    ])
    error_message = "The rollback composite needs at least one member, and each member must be an alarm whose role is \"rollback\"."
  }
}

variable "notification_topic_arns" {
  description = "Extra SNS topics notified by the composite and the notify alarms, besides the topic this module creates."
  type        = list(string)
  default     = []
}

variable "rollback_action_arns" {
  description = "Extra actions of the composite rollback alarm on ALARM only (for example a function that deploys the canary-off flags)."
  type        = list(string)
  default     = []
}

variable "notification_emails" {
  description = "Email addresses subscribed to the module's topic."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the SNS topic."
  type        = string
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
