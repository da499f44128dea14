variable "name" {
  description = "Layer name (1-140 of [a-zA-Z0-9-_])."
  type        = string
}

variable "description" {
  description = "Layer description."
  type        = string
  default     = "Dependencies of the cutover functions"
}

variable "package" {
  description = "The layer zip (python/ at its root) and its base64 sha256."
  type = object({
    filename         = string
    source_code_hash = string
  })
}

variable "architecture" {
  description = "Instruction set the wheels were built for: x86_64 or arm64."
  type        = string

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "compatible_runtimes" {
  description = "Runtimes the wheels were built for."
  type        = list(string)
  default     = ["python3.12", "python3.13"]
}
