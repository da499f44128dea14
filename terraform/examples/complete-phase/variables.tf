variable "region" {
  description = "AWS region of the release environment."
  type        = string
  default     = "eu-west-3"
}

variable "vpc" {
  description = "Where the candidate runs: private subnets with a route to RDS Proxy and to AppConfig/X-Ray/Logs endpoints."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = {
    subnet_ids         = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60719"]
    security_group_ids = ["sg-0c1d2e3f4a5b60710"]
  }
}

variable "database" {
  description = "The candidate's PostgreSQL backend behind RDS Proxy (IAM authentication, no password anywhere)."
  type = object({
    proxy_endpoint    = string
    proxy_resource_id = string
    port              = number
    name              = string
    user              = string
  })
  default = {
    proxy_endpoint    = "huntaze-read.proxy-c0ffee123456.eu-west-3.rds.amazonaws.com"
    proxy_resource_id = "prx-0123456789abcdef0"
    port              = 5432
    name              = "huntaze"
    user              = "reader"
  }
}
