variable "name_prefix" {
  description = "Folder (name prefix, ending without '/') of the saved queries in the console."
  type        = string
}

variable "queries" {
  description = "Saved Logs Insights queries keyed by slug: the rendered query file and the log groups it reads."
  type = map(object({
    title           = string
    file            = string
    log_group_names = list(string)
  }))
}
