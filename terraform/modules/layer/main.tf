# The functions' third-party dependencies (psycopg, aws-xray-sdk), built by
# `make build` as one zip per architecture. boto3 is left out: the runtime has it.
# A new layer version is published only when the zip's bytes change, and the build
# is reproducible, so an unchanged tree plans no change.

resource "aws_lambda_layer_version" "this" {
  layer_name               = var.name
  description              = var.description
  filename                 = var.package.filename
  source_code_hash         = var.package.source_code_hash
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = [var.architecture]

  # Functions pinned to the old version keep working while a new one rolls out
  # through CodeDeploy; the cleanup function does not touch layers.
  skip_destroy = true
}
