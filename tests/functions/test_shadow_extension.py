"""Shadow events survive Lambda's freeze: the router's internal extension holds the
execution environment until the invocation's shadow invokes are sent.

``FrozenEnvironment`` plays Lambda around the real router, with a local Extensions API:
the environment freezes once the runtime (the test, after the handler returns) and every
registered extension have called ``next``. Frozen, the shadow workers run nothing
(botocore hooks on the invoke block until the thaw), and the Invoke API answers an async
invoke no sooner than the runtime's ``next`` (an invoke still in flight at the response,
the worst case). No timing is asserted: what is checked is what was still pending at
the freeze.
"""

from __future__ import annotations

import threading
import time

import pytest
from cutover_runtime import lambda_client
from cutover_runtime.shadow import SHADOW_INVOKE_TIMEOUT_S
from user_profile.mock import mock_profile

from cutover.rehearsal.fakes import ExtensionsAPI

from .conftest import events, flag_values, metric_totals


class FrozenEnvironment:
    def __init__(self, api: ExtensionsAPI, lambda_service, with_extension: bool,
                 invoke_answers: bool = True) -> None:
        self.api = api
        self.with_extension = with_extension
        self.invoke_answers = invoke_answers
        self.thawed = threading.Event()
        self.thawed.set()
        self.answer = threading.Event()
        lambda_service.event_gate = self.answer
        self.lock = threading.Lock()
        self.runtime_done = self.extension_done = False
        self.pending_at_freeze: list[int] = []
        self.dispatcher = None
        self.invocations = 0
        client = lambda_client.lambda_client("shadow", SHADOW_INVOKE_TIMEOUT_S)
        for hook in ("before-send.lambda.Invoke", "after-call.lambda.Invoke"):
            client.meta.events.register(hook, self._gate)
        api.on_next = self._extension_next

    def _gate(self, **_) -> None:
        self.thawed.wait(60)  # a frozen environment runs no thread

    def _extension_next(self) -> None:
        with self.lock:
            self.extension_done = True
            self._freeze_if_done()

    def _freeze_if_done(self) -> None:
        if self.runtime_done and self.extension_done and self.thawed.is_set():
            self.pending_at_freeze.append(self.dispatcher.pending)
            self.thawed.clear()

    def invoke(self, handler, event, deadline_s: float = 30.0):
        self.invocations += 1
        with self.lock:
            self.runtime_done = False
            self.extension_done = not self.with_extension
            self.answer.clear()
            self.thawed.set()
        if self.with_extension:
            self.api.deliver_invoke(f"req-{self.invocations}", int((time.time() + deadline_s) * 1000))
        response = handler.lambda_handler(event, None)
        self.dispatcher = handler.router().shadow
        with self.lock:  # the runtime posts the response and calls next
            self.runtime_done = True
            self._freeze_if_done()
        if self.invoke_answers:
            self.answer.set()
        if self.with_extension:
            assert self.api.wait_next_calls(self.invocations + 1)
        assert not self.thawed.is_set()  # frozen
        return response

    def thaw(self) -> None:
        self.answer.set()
        self.thawed.set()


@pytest.fixture
def extensions_api():
    api = ExtensionsAPI()
    yield api
    api.close()


@pytest.fixture
def shadow_router(router_env, extension, aws_env):
    """The router with shadow on for every request and a dispatch budget of 0."""
    aws_env.setenv("CUTOVER_SHADOW_DISPATCH_BUDGET_MS", "0")
    extension.document = flag_values(percent=0, shadow=True, sample_rate=1.0)
    router_env.reset()
    yield router_env
    if router_env._extension is not None:
        router_env._extension.stop()
    router_env._extension = None


def start(handler, api: ExtensionsAPI, cap_s: float = SHADOW_INVOKE_TIMEOUT_S):
    extension = handler.start_extension({"AWS_LAMBDA_RUNTIME_API": api.host_port}, cap_s=cap_s)
    assert extension is not None
    assert api.wait_next_calls(1)  # init ends when the extension first calls next
    return extension


def test_with_the_extension_no_shadow_event_is_lost_to_the_freeze(
        shadow_router, extensions_api, lambda_service, capsys):
    start(shadow_router, extensions_api)
    lifecycle = FrozenEnvironment(extensions_api, lambda_service, with_extension=True)
    users = [f"user-{i}" for i in range(6)]
    for user in users:
        assert lifecycle.invoke(shadow_router, {"userId": user}) == mock_profile(user)
    # every freeze found the dispatcher idle: each event was sent before it
    assert lifecycle.pending_at_freeze == [0] * len(users)
    assert [c["payload"]["request"]["userId"] for c in lambda_service.calls] == users
    out = capsys.readouterr().out
    assert metric_totals(out)["ShadowDispatched"] == len(users)
    assert not events(out, "SHADOW-HOLD-EXPIRED") and not events(out, "SHADOW-DISPATCH-FAILED")


def test_without_the_extension_the_freeze_catches_the_invoke_in_flight(
        shadow_router, extensions_api, lambda_service, capsys):
    # the control: what the extension is for (no AWS_LAMBDA_RUNTIME_API: nothing registers)
    assert shadow_router.start_extension({}) is None
    lifecycle = FrozenEnvironment(extensions_api, lambda_service, with_extension=False)
    lifecycle.invoke(shadow_router, {"userId": "user-1"})
    assert lifecycle.pending_at_freeze == [1]
    assert "ShadowDispatched" not in metric_totals(capsys.readouterr().out)
    lifecycle.thaw()  # the event goes out at the next thaw, if there ever is one
    assert shadow_router.router().shadow.drain(30)


@pytest.mark.parametrize("cap_s,deadline_s", [(0.2, 30.0), (30.0, 0.3)],
                         ids=["cap", "invocation-deadline"])
def test_a_stuck_invoke_holds_the_environment_only_up_to_the_cap_or_the_deadline(
        shadow_router, extensions_api, lambda_service, capsys, cap_s, deadline_s):
    # GIVEN an Invoke API that does not answer
    start(shadow_router, extensions_api, cap_s=cap_s)
    lifecycle = FrozenEnvironment(extensions_api, lambda_service, with_extension=True,
                                  invoke_answers=False)
    # WHEN a teed request returns, THEN the extension lets the environment freeze anyway
    lifecycle.invoke(shadow_router, {"userId": "user-1"}, deadline_s=deadline_s)
    assert lifecycle.pending_at_freeze == [1]
    [expired] = events(capsys.readouterr().out, "SHADOW-HOLD-EXPIRED")
    assert expired["pending"] == 1 and expired["level"] == "WARN"
    lifecycle.thaw()
    assert shadow_router.router().shadow.drain(30)


def test_registration_and_next_follow_the_extensions_api(shadow_router, extensions_api,
                                                          lambda_service):
    start(shadow_router, extensions_api)
    [registration] = extensions_api.registrations
    assert registration["path"] == "/2020-01-01/extension/register"
    assert registration["headers"]["Lambda-Extension-Name"] == "cutover-shadow-drain"
    assert registration["body"] == {"events": ["INVOKE"]}
    lifecycle = FrozenEnvironment(extensions_api, lambda_service, with_extension=True)
    lifecycle.invoke(shadow_router, {"userId": "user-1"})
    for call in extensions_api.next_headers:
        assert call["path"] == "/2020-01-01/extension/event/next"
        assert call["Lambda-Extension-Identifier"] == ExtensionsAPI.EXTENSION_ID


def test_outside_lambda_nothing_starts(shadow_router, lambda_service):
    before = {t.name for t in threading.enumerate()}
    assert shadow_router.start_extension({}) is None
    assert shadow_router._extension is None
    assert shadow_router.lambda_handler({"userId": "user-1"}, None) == mock_profile("user-1")
    assert "cutover-shadow-drain" not in {t.name for t in threading.enumerate()} - before


def test_a_refused_registration_leaves_the_router_serving(shadow_router, extensions_api,
                                                          lambda_service, capsys):
    extensions_api.register_status = 403
    assert shadow_router.start_extension({"AWS_LAMBDA_RUNTIME_API": extensions_api.host_port}) is None
    assert shadow_router.lambda_handler({"userId": "user-1"}, None) == mock_profile("user-1")
    [unavailable] = events(capsys.readouterr().out, "SHADOW-EXTENSION-UNAVAILABLE")
    assert unavailable["stage"] == "register" and "403" in unavailable["error"]
