"""The candidate cold path's baseline: the same candidate, written the naive way.

boto3 is imported and an RDS client built at load, as many handlers do, and the IAM
auth token comes from that client's ``generate_db_auth_token``.
"""

import boto3
import psycopg  # noqa: F401 - eagerly, as the naive handler does
from candidate import db
from candidate import handler as _candidate

RDS = boto3.client("rds")


def _token(settings):
    return RDS.generate_db_auth_token(DBHostname=settings.host, Port=settings.port,
                                      DBUsername=settings.user, Region=settings.region)


db._rds_token = _token


def lambda_handler(event, context):
    return _candidate.lambda_handler(event, context)
