"""Local stand-ins the functions run against outside Lambda, shared by tests/ and bench/
(neither imports the other): an embedded PostgreSQL server with the candidate's schema
and seed rows (``postgres``) and hostile peers (``hostile``). The fakes of the AWS APIs
are in ``cutover.rehearsal.fakes`` (``fakes`` here only re-exports them)."""
