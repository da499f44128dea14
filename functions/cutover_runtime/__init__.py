"""Shared runtime for the cutover Lambda functions: the rules every part of cutover follows.

Installed as `cutover.runtime` (for the generator, operations and the rehearsal) and
vendored into every Lambda zip as `cutover_runtime`; modules import each other
relatively, so both names load the same files.

Every module here imports only the standard library at load; heavy SDKs (boto3,
aws-xray-sdk, psycopg) are loaded by the code paths that need them, on first use.
"""
