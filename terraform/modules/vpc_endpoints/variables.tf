variable "name_prefix" {
  description = "Prefix of the endpoints' security group name."
  type        = string
}

variable "mode" {
  description = "create: create the endpoints; existing: fail the plan unless the VPC has them."
  type        = string

  validation {
    condition     = contains(["create", "existing"], var.mode)
    error_message = "mode must be create or existing."
  }
}

variable "vpc_id" {
  description = "VPC of the candidate's subnets."
  type        = string
}

variable "services" {
  description = "AWS services the functions in the VPC call: dynamodb (a gateway endpoint), others (interface endpoints, for example xray)."
  type        = list(string)
}

variable "route_table_ids" {
  description = "Route tables of the functions' subnets (the DynamoDB gateway endpoint; create only)."
  type        = list(string)
  default     = []
}

variable "subnet_ids" {
  description = "Subnets of the interface endpoints (the functions' subnets; create only)."
  type        = list(string)
  default     = []
}

variable "client_security_group_ids" {
  description = "Security groups of the functions that may reach the interface endpoints on 443 (create only)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
