terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "cutover:release"     = "huntaze-prisma-migration"
      "cutover:environment" = "production"
      "managed-by"          = "terraform"
    }
  }
}
