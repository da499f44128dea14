"""The cold-start baseline: the same router, written the naive way.

boto3 is imported and the Lambda client built at load, and the X-Ray SDK patches
every library it knows (``patch_all``) at load, as many handlers do.
"""

import boto3
from aws_xray_sdk.core import patch_all, xray_recorder

xray_recorder.configure(context_missing="IGNORE_ERROR")
patch_all()
LAMBDA = boto3.client("lambda")

from router.handler import lambda_handler as _route


def lambda_handler(event, context):
    return _route(event, context)
