variable "application_name" {
  description = "CodeDeploy application name (compute platform Lambda)."
  type        = string
}

variable "deployment_config" {
  description = "Deployment configuration: a predefined name (custom = false), or a custom TimeBasedCanary / TimeBasedLinear created under that name."
  type = object({
    name             = string
    custom           = bool
    type             = optional(string)
    percentage       = optional(number)
    interval_minutes = optional(number)
  })
}

variable "deployment_groups" {
  description = "One deployment group per function alias that CodeDeploy shifts, keyed by group name, with the metric alarms (at most 10, never a composite) that stop and roll back its deployments."
  type = map(object({
    function_name = string
    alias_name    = string
    alarm_names   = optional(list(string), [])
  }))
}

variable "lifecycle_hook_function_names" {
  description = "Functions the deployments' AppSpecs name as lifecycle hooks (BeforeAllowTraffic): the only functions the service role may invoke."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for f in var.lifecycle_hook_function_names : startswith(f, "CodeDeployHook_")])
    error_message = "Lifecycle hook functions are named CodeDeployHook_* (the convention of CodeDeploy's managed Lambda policy)."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
