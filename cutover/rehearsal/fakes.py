"""The fakes of the AWS services cutover talks to: one per service, shared by the tests,
the rehearsal and the benchmarks (import them from here). Each stands in for the
service as it is documented, the unkind parts included (throttling, conflicts, stale
tokens, outages); where a fake has both a Python API and a loopback HTTP API (what
boto3 reaches with ``endpoint_url`` or ``AWS_ENDPOINT_URL_<SERVICE>``), the same
scenario gives the same answers through both (tests/rehearsal/test_fake_contracts.py).

Which emulation serves which service, and who uses it:

=========================  =======================================  =====================================
Service (API)              The fake (module)                        Used by
=========================  =======================================  =====================================
AppConfig control plane    ``AppConfig`` + ``ControlPlane`` /       rehearsal (guard, apply, monitor);
(appconfig: Start/Get/     ``ControlPlaneServer`` (appconfig.py,    tests/functions/test_guard_semantics,
List/StopDeployment,       appconfig_api.py); ConflictException     test_guard_standins,
hosted versions, ids,      while a deployment runs or on a stale    tests/rehearsal/test_standins,
strategies, EventLog)      LatestDeploymentNumber, StopDeployment   tests/ops (status, ramp, monitor,
                           refusals, REVERTED, 404s                 analyze, errors: ``fake_appconfig``)
AppConfig data plane       ``DataPlane`` / ``DataPlaneServer``;     rehearsal (routers' direct read);
(appconfigdata)            ``StandaloneDataPlane`` (one document,   tests/functions/test_flag_direct,
                           fixed clock) (appconfigdata_api.py)      test_flag_outage
AppConfig agent            ``Agent`` / ``AgentServer`` (on the      rehearsal
(extension's local HTTP)   virtual clock, one per environment)
                           ``AppConfigExtension`` (hand-driven,     tests/functions (conftest), bench
                           failure modes) (loopback_fakes.py)
CloudWatch alarms and      ``MetricStore`` / ``Evaluator``          rehearsal, tests/signals, bench
metrics (evaluation)       (cloudwatch.py)
CloudWatch DescribeAlarms  ``DescribeAlarmsApi`` (cloudwatch_api)   rehearsal's guard, test_guard_standins
SNS Publish                ``PublishApi`` (sns_api.py)              rehearsal's guard, test_guard_standins
Lambda Invoke (in world)   ``LambdaService`` (lambda_service.py,    rehearsal
                           in process, virtual clock)
Lambda Invoke (loopback)   ``LambdaInvokeApi`` (loopback_fakes)     tests/functions (router, faults,
                                                                    flag_outage), bench
Lambda Extensions API      ``ExtensionsAPI`` (loopback_fakes)       test_shadow_extension, bench
=========================  =======================================  =====================================

Outside this package, on purpose:

* moto (cutover.generator.terraform.emulator.LocalAWS) for the control planes cutover
  creates and reads but does not model here: Lambda functions/versions/aliases, IAM,
  CloudWatch alarms and dashboards as stored resources, CodeDeploy, Logs (tests/ops,
  tests/terraform).
* botocore Stubbers where a test pins the exact request parameters (``expected_params``)
  or needs what no fake models: the guard's every call (tests/functions/test_guard.py),
  the writes of ``cutover rollback`` and of the cleanup function (AppConfig, CodeDeploy),
  preflight's AppConfig environment monitors and data-plane session, AccessDenied
  (tests/ops/test_errors.py), CodeDeploy deployments that move, X-Ray, Logs Insights
  and the CloudWatch percentiles moto does not answer. Each such test says why in its
  docstring.

Not yet one fake: the AppConfig agent's HTTP API is served by ``AgentServer`` (its
answers follow each environment's poll schedule on the virtual clock) and by
``AppConfigExtension`` (one agent driven by hand, with failure modes); Lambda Invoke by
``LambdaService`` (in process, on the virtual clock) and by ``LambdaInvokeApi``
(loopback HTTP, answers driven by hand).
"""

from __future__ import annotations

from .appconfig import Agent, AgentServer, AppConfig, ConflictError, Deployment, Monitor, Strategy
from .appconfig_api import REVERT_WINDOW_S, ApiError, ControlPlane, ControlPlaneServer
from .appconfigdata_api import DataPlane, DataPlaneServer, StandaloneDataPlane
from .cloudwatch import Evaluator, MetricStore
from .cloudwatch_api import DescribeAlarmsApi, LoopbackApi
from .lambda_service import LambdaService
from .loopback_fakes import AppConfigExtension, ExtensionsAPI, LambdaInvokeApi, LocalServer
from .sns_api import Notification, PublishApi

__all__ = [
    "REVERT_WINDOW_S", "Agent", "AgentServer", "ApiError", "AppConfig", "AppConfigExtension",
    "ConflictError", "ControlPlane", "ControlPlaneServer", "DataPlane", "DataPlaneServer",
    "Deployment", "DescribeAlarmsApi", "Evaluator", "ExtensionsAPI", "LambdaInvokeApi",
    "LambdaService", "LocalServer", "LoopbackApi", "MetricStore", "Monitor", "Notification",
    "PublishApi", "StandaloneDataPlane", "Strategy",
]
