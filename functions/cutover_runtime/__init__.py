"""Shared runtime for the cutover Lambda functions.

Every module here imports only the standard library at load; heavy SDKs (boto3,
aws-xray-sdk, psycopg) are loaded by the code paths that need them, on first use.
"""
