"""Local stand-ins for the AWS parts of a release, for rehearsals and tests."""
