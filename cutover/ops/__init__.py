"""Release operations against AWS: `cutover status|analyze|ramp|deploy|rollback|preflight|...`.

Thin over boto3: every name comes from the generator's plan (`cutover.ops.names`), every
go/no-go decision from `analysis`. docs/operations.md lists the commands and their
exit codes.
"""
