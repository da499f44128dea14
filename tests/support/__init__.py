"""Local stand-ins the functions run against outside Lambda, shared by tests/ and bench/
(neither imports the other): HTTP fakes of the AWS APIs the functions call
(``fakes``) and an embedded PostgreSQL server with the candidate's schema and seed rows
(``postgres``)."""
