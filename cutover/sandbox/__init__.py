"""The local sandbox: a simulated AWS on loopback with a live simulated release behind it,
so that every operations command (and `make apply`) can be tried on one machine with no
AWS account (docs/operations.md, "Try the runbook").

Pieces:

* ``state``: what the HTTP services and the simulation share (the clock, metrics, logs,
  traces), under one lock;
* ``wire``: an AWS request as the front door sees it, and the ``Service`` interface;
* the front door (one loopback port): each request goes to the project's stand-in for its
  service and action when there is one, else to moto's server;
* the simulated release: the real router and candidate handlers serving synthetic users
  on the sandbox's clock, their EMF, logs and traces feeding the services, the applied
  alarms evaluated, the guard invoked as the applied EventBridge rule says;
* the lifecycle: ``cutover sandbox up|status|down|inject``.
"""
