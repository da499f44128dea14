"""AppConfig (signing name ``appconfig``: the control plane and the ``appconfigdata`` data
plane, which signs with the same name), for several applications, environments and
configuration profiles, with the rehearsal's deployment semantics.

Each (environment, profile) pair is a rehearsal ``AppConfig`` (growth, bake, rollback,
what each client is served), answered through the rehearsal's ``ControlPlane`` (Get/Stop/
ListDeployments, with StopDeployment's DEPLOYING / AllowRevert / REVERTED rules) and read
by the data plane through the rehearsal's ``DataPlane``. What AWS adds on top and the
rehearsal has no need of is here: resources with 7-character ids and ARNs, one deployment
at a time per *environment* (ConflictException), deployment numbers per environment,
hosted versions validated (``AWS.AppConfig.FeatureFlags`` against AWS's published schema;
``JSON_SCHEMA`` validators), the environment's monitors (at most 5) rolling a deployment
back when an alarm is in ALARM or INSUFFICIENT_DATA during the deployment or its bake,
unless the alarm's actions are disabled (docs/aws-rules.md, AppConfig), tags.

Timestamps are the sandbox's, shifted to the caller's clock (``clock.to_wall``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from cutover.rehearsal.appconfig import AppConfig, Monitor, Strategy
from cutover.rehearsal.appconfig_api import ApiError, ControlPlane
from cutover.rehearsal.appconfigdata_api import DataPlane

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_MONITORS = 5
# AWS's predefined strategies ("Working with deployment strategies", predefined strategies).
PREDEFINED = [
    Strategy("AppConfig.AllAtOnce", 0.0, 600.0, "LINEAR", 100.0, name="AppConfig.AllAtOnce"),
    Strategy("AppConfig.Linear50PercentEvery30Seconds", 60.0, 60.0, "LINEAR", 50.0,
             name="AppConfig.Linear50PercentEvery30Seconds"),
    Strategy("AppConfig.Linear20PercentEvery6Minutes", 1800.0, 1800.0, "LINEAR", 20.0,
             name="AppConfig.Linear20PercentEvery6Minutes"),
    Strategy("AppConfig.Canary10Percent20Minutes", 1200.0, 600.0, "EXPONENTIAL", 10.0,
             name="AppConfig.Canary10Percent20Minutes"),
]
WORST = {"OK": 0, "INSUFFICIENT_DATA": 1, "ALARM": 2}


@dataclass
class Hosted:
    number: int
    content: bytes
    content_type: str
    description: str = ""
    label: str = ""


@dataclass
class Profile:
    app: str
    id: str
    body: dict[str, Any]
    hosted: dict[int, Hosted] = field(default_factory=dict)
    documents: dict[int, Any] = field(default_factory=dict)  # shared with the AppConfigs
    descriptions: dict[int, str] = field(default_factory=dict)


@dataclass
class Environment:
    app: str
    id: str
    body: dict[str, Any]
    planes: dict[str, Any] = field(default_factory=dict)  # profile id -> (AppConfig, ControlPlane, Monitor)
    numbers: Any = field(default_factory=lambda: itertools.count(1))
    details: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> KmsKeyArn, tags...
    last_state: str = "OK"


def _json(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


def _name(body: dict[str, Any], key: str = "Name") -> str:
    name = body.get(key)
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise AwsError("BadRequestException", f"{key} must be 1-64 characters")
    if len(str(body.get("Description") or "")) > 1024:
        raise AwsError("BadRequestException", "Description must be at most 1024 characters")
    return name


class AppConfigService:
    signing_name = "appconfig"

    def __init__(self, state: SandboxState, alarm_state: Callable[[str], str | None]) -> None:
        self.state = state
        self.alarm_state = alarm_state  # alarm ARN -> its state, None when unknown or actions disabled
        self.apps: dict[str, dict[str, Any]] = {}
        self.envs: dict[str, Environment] = {}
        self.profiles: dict[str, Profile] = {}
        self.strategies: dict[str, Strategy] = {s.id: s for s in PREDEFINED}
        self.strategy_bodies: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.data_planes: dict[tuple[str, str], DataPlane] = {}
        self._ids = itertools.count(1)
        self.routes = self._routes()

    # --- for the simulation -----------------------------------------------------------------
    def find(self, application_name: str, environment_name: str, profile_name: str) -> AppConfig | None:
        """The rehearsal AppConfig behind (application, environment, profile), by name."""
        with self.state.lock:
            for env in self.envs.values():
                app = self.apps.get(env.app)
                if app is None or app["Name"] != application_name or env.body["Name"] != environment_name:
                    continue
                for profile_id, (appconfig, _, _) in env.planes.items():
                    if self.profiles[profile_id].body["Name"] == profile_name:
                        return appconfig
                for profile in self.profiles.values():
                    if profile.app == env.app and profile.body["Name"] == profile_name:
                        return self._plane(env, profile)[0]
        return None

    def tick(self, now_s: float) -> None:
        """The monitors: roll back a deployment whose monitor alarm is in ALARM or
        INSUFFICIENT_DATA while it deploys or bakes."""
        for env in self.envs.values():
            if not env.body.get("Monitors"):
                continue
            state = self._worst(env)
            changed, env.last_state = state != env.last_state, state
            for appconfig, _, monitor in env.planes.values():
                before = {d.number: d.rolled_back_at for d in appconfig.deployments}
                monitor.evaluated(now_s, state, changed)
                self._mark_alarm_rollbacks(env, appconfig, before)

    def _mark_alarm_rollbacks(self, env: Environment, appconfig: AppConfig, before: dict[int, Any]) -> None:
        for d in appconfig.deployments:
            if before.get(d.number) is None and d.rolled_back_at is not None:
                env.details.setdefault(d.number, {})["TriggeredBy"] = "CLOUDWATCH_ALARM"

    def _worst(self, env: Environment) -> str:
        states = [self.alarm_state(m["AlarmArn"]) for m in env.body.get("Monitors") or []]
        known = [s for s in states if s is not None]
        return max(known, key=lambda s: WORST.get(s, 0)) if known else "OK"

    # --- the wire ---------------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
        a, e, p = r"/applications/([^/]+)", r"/environments/([^/]+)", r"/configurationprofiles/([^/]+)"
        table = [
            ("POST", "/configurationsessions", self.start_session),
            ("GET", "/configuration", self.latest_configuration),
            ("GET", "/applications", self.list_applications), ("POST", "/applications", self.create_application),
            ("GET", a, self.get_application), ("PATCH", a, self.update_application),
            ("DELETE", a, self.delete_application),
            ("GET", a + "/environments", self.list_environments), ("POST", a + "/environments", self.create_environment),
            ("GET", a + e, self.get_environment), ("PATCH", a + e, self.update_environment),
            ("DELETE", a + e, self.delete_environment),
            ("GET", a + "/configurationprofiles", self.list_profiles),
            ("POST", a + "/configurationprofiles", self.create_profile),
            ("GET", a + p, self.get_profile), ("PATCH", a + p, self.update_profile),
            ("DELETE", a + p, self.delete_profile),
            ("GET", a + p + "/hostedconfigurationversions", self.list_hosted),
            ("POST", a + p + "/hostedconfigurationversions", self.create_hosted),
            ("GET", a + p + r"/hostedconfigurationversions/(\d+)", self.get_hosted),
            ("DELETE", a + p + r"/hostedconfigurationversions/(\d+)", self.delete_hosted),
            ("GET", "/deploymentstrategies", self.list_strategies),
            ("POST", "/deploymentstrategies", self.create_strategy),
            ("GET", r"/deploymentstrategies/([^/]+)", self.get_strategy),
            ("PATCH", r"/deploymentstrategies/([^/]+)", self.update_strategy),
            ("DELETE", r"/deployementstrategies/([^/]+)", self.delete_strategy),
            ("GET", a + e + "/deployments", self.list_deployments),
            ("POST", a + e + "/deployments", self.start_deployment),
            ("GET", a + e + r"/deployments/(\d+)", self.get_deployment),
            ("DELETE", a + e + r"/deployments/(\d+)", self.stop_deployment),
            ("GET", r"/tags/(.+)", self.list_tags), ("POST", r"/tags/(.+)", self.tag),
            ("DELETE", r"/tags/(.+)", self.untag),
        ]
        return [(method, re.compile(f"^{path}$"), handler) for method, path, handler in table]

    def handle(self, request: Request) -> Response | None:
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                try:
                    with self.state.lock:
                        return handler(request, *(unquote(g) for g in match.groups()))
                except AwsError as error:
                    return codec.rest_error(error)
                except ApiError as error:
                    return codec.rest_error(AwsError(error.kind, str(error), error.status))
                except (KeyError, TypeError, ValueError) as exc:
                    return codec.rest_error(AwsError("BadRequestException", f"invalid request: {exc}"))
        if any(p.match(request.path) for _, p, _ in self.routes):
            return codec.rest_error(AwsError("MethodNotAllowedException", f"{request.method} {request.path}", 405))
        return codec.rest_error(AwsError("BadRequestException", f"{request.method} {request.path} is not served "
                                         "by the sandbox's AppConfig", 400))

    # --- helpers ------------------------------------------------------------------------------
    def _new_id(self) -> str:
        digest = hashlib.sha256(f"{self.state.account_id}:{next(self._ids)}".encode()).digest()
        return "".join(ID_ALPHABET[b % len(ID_ALPHABET)] for b in digest[:7])

    def _arn(self, resource: str) -> str:
        return f"arn:aws:appconfig:{self.state.region}:{self.state.account_id}:{resource}"

    def _app(self, app_id: str) -> dict[str, Any]:
        app = self.apps.get(app_id)
        if app is None:
            raise AwsError("ResourceNotFoundException", f"Application {app_id} not found", 404)
        return app

    def _env(self, app_id: str, env_id: str) -> Environment:
        self._app(app_id)
        env = self.envs.get(env_id)
        if env is None or env.app != app_id:
            raise AwsError("ResourceNotFoundException", f"Environment {env_id} not found", 404)
        return env

    def _profile(self, app_id: str, profile_id: str) -> Profile:
        self._app(app_id)
        profile = self.profiles.get(profile_id)
        if profile is None or profile.app != app_id:
            raise AwsError("ResourceNotFoundException", f"Configuration profile {profile_id} not found", 404)
        return profile

    def _body(self, request: Request) -> dict[str, Any]:
        return codec.json_body(request)

    def _tag(self, arn: str, tags: Any) -> None:
        if tags:
            self.tags.setdefault(arn, {}).update(tags)

    def _iso(self, t: float) -> str:
        clock = self.state.clock
        return codec.iso(clock.to_wall(clock.start_epoch + t))

    # --- applications -------------------------------------------------------------------------
    def create_application(self, request: Request) -> Response:
        body = self._body(request)
        app = {"Id": self._new_id(), "Name": _name(body), "Description": body.get("Description", "")}
        self.apps[app["Id"]] = app
        self._tag(self._arn(f"application/{app['Id']}"), body.get("Tags"))
        return _json(201, app)

    def list_applications(self, request: Request) -> Response:
        return _json(200, {"Items": list(self.apps.values())})

    def get_application(self, request: Request, app_id: str) -> Response:
        return _json(200, self._app(app_id))

    def update_application(self, request: Request, app_id: str) -> Response:
        app, body = self._app(app_id), self._body(request)
        app.update({k: body[k] for k in ("Name", "Description") if k in body})
        return _json(200, app)

    def delete_application(self, request: Request, app_id: str) -> Response:
        self._app(app_id)
        if any(e.app == app_id for e in self.envs.values()) or any(p.app == app_id for p in self.profiles.values()):
            raise AwsError("ConflictException", f"application {app_id} still has environments or profiles", 409)
        del self.apps[app_id]
        return Response(204)

    # --- environments --------------------------------------------------------------------------
    def _monitors(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        monitors = body.get("Monitors") or []
        if len(monitors) > MAX_MONITORS:
            raise AwsError("BadRequestException", f"an environment takes at most {MAX_MONITORS} monitors")
        for m in monitors:
            if not str(m.get("AlarmArn", "")).startswith("arn:"):
                raise AwsError("BadRequestException", "a monitor needs an AlarmArn")
        return monitors

    def _environment(self, env: Environment) -> dict[str, Any]:
        running = any(a.current(self.state.clock.now) is not None
                      and a.current(self.state.clock.now).in_progress(self.state.clock.now)
                      for a, _, _ in env.planes.values())
        return {"ApplicationId": env.app, "Id": env.id, "Name": env.body["Name"],
                "Description": env.body.get("Description", ""),
                "State": "DEPLOYING" if running else "ReadyForDeployment",
                "Monitors": env.body.get("Monitors") or []}

    def create_environment(self, request: Request, app_id: str) -> Response:
        self._app(app_id)
        body = self._body(request)
        _name(body)
        env = Environment(app_id, self._new_id(), {"Name": body["Name"], "Description": body.get("Description", ""),
                                                   "Monitors": self._monitors(body)})
        self.envs[env.id] = env
        self._tag(self._arn(f"application/{app_id}/environment/{env.id}"), body.get("Tags"))
        return _json(201, self._environment(env))

    def list_environments(self, request: Request, app_id: str) -> Response:
        self._app(app_id)
        return _json(200, {"Items": [self._environment(e) for e in self.envs.values() if e.app == app_id]})

    def get_environment(self, request: Request, app_id: str, env_id: str) -> Response:
        return _json(200, self._environment(self._env(app_id, env_id)))

    def update_environment(self, request: Request, app_id: str, env_id: str) -> Response:
        env, body = self._env(app_id, env_id), self._body(request)
        if "Monitors" in body:
            env.body["Monitors"] = self._monitors(body)
        env.body.update({k: body[k] for k in ("Name", "Description") if k in body})
        return _json(200, self._environment(env))

    def delete_environment(self, request: Request, app_id: str, env_id: str) -> Response:
        env = self._env(app_id, env_id)
        if self._environment(env)["State"] == "DEPLOYING":
            raise AwsError("ConflictException", f"environment {env_id} has a deployment in progress", 409)
        del self.envs[env_id]
        return Response(204)

    # --- configuration profiles ----------------------------------------------------------------
    def _profile_out(self, profile: Profile) -> dict[str, Any]:
        body = profile.body
        out = {"ApplicationId": profile.app, "Id": profile.id, "Name": body["Name"],
               "Description": body.get("Description", ""), "LocationUri": body["LocationUri"],
               "Type": body.get("Type", "AWS.Freeform"), "Validators": body.get("Validators") or []}
        if body.get("RetrievalRoleArn"):
            out["RetrievalRoleArn"] = body["RetrievalRoleArn"]
        if body.get("KmsKeyIdentifier"):
            key = body["KmsKeyIdentifier"]
            out["KmsKeyIdentifier"] = key
            out["KmsKeyArn"] = key if key.startswith("arn:") else \
                f"arn:aws:kms:{self.state.region}:{self.state.account_id}:key/{key}"
        return out

    def create_profile(self, request: Request, app_id: str) -> Response:
        self._app(app_id)
        body = self._body(request)
        _name(body)
        if not body.get("LocationUri"):
            raise AwsError("BadRequestException", "LocationUri is required")
        if body.get("Type", "AWS.Freeform") not in ("AWS.Freeform", "AWS.AppConfig.FeatureFlags"):
            raise AwsError("BadRequestException", "Type must be AWS.Freeform or AWS.AppConfig.FeatureFlags")
        profile = Profile(app_id, self._new_id(), {k: v for k, v in body.items() if k != "Tags"})
        self.profiles[profile.id] = profile
        self._tag(self._arn(f"application/{app_id}/configurationprofile/{profile.id}"), body.get("Tags"))
        return _json(201, self._profile_out(profile))

    def list_profiles(self, request: Request, app_id: str) -> Response:
        self._app(app_id)
        items = [self._profile_out(p) for p in self.profiles.values() if p.app == app_id]
        return _json(200, {"Items": [{k: v for k, v in i.items() if k != "Description"} for i in items]})

    def get_profile(self, request: Request, app_id: str, profile_id: str) -> Response:
        return _json(200, self._profile_out(self._profile(app_id, profile_id)))

    def update_profile(self, request: Request, app_id: str, profile_id: str) -> Response:
        profile, body = self._profile(app_id, profile_id), self._body(request)
        profile.body.update({k: v for k, v in body.items()
                             if k in ("Name", "Description", "RetrievalRoleArn", "Validators", "KmsKeyIdentifier")})
        return _json(200, self._profile_out(profile))

    def delete_profile(self, request: Request, app_id: str, profile_id: str) -> Response:
        self._profile(app_id, profile_id)
        del self.profiles[profile_id]
        return Response(204)

    # --- hosted configuration versions -----------------------------------------------------------
    def _validate(self, profile: Profile, content: bytes) -> Any:
        try:
            document = json.loads(content)
        except ValueError:
            document = None
        if profile.body.get("Type") == "AWS.AppConfig.FeatureFlags":
            from cutover.generator.plan.flag_document import _aws_schema_problems

            problems = ["the content is not JSON"] if document is None else _aws_schema_problems(document)
            if problems:
                raise AwsError("BadRequestException", "invalid AWS.AppConfig.FeatureFlags document: "
                               + "; ".join(problems[:5]))
        for validator in profile.body.get("Validators") or []:
            if validator.get("Type") == "JSON_SCHEMA":
                import jsonschema

                errors = list(jsonschema.Draft7Validator(json.loads(validator["Content"])).iter_errors(document))
                if errors:
                    raise AwsError("BadRequestException", f"the content fails its JSON_SCHEMA validator: "
                                   f"{errors[0].message}")
        return document

    def _hosted_headers(self, app_id: str, profile: Profile, hosted: Hosted) -> dict[str, str]:
        headers = {"Application-Id": app_id, "Configuration-Profile-Id": profile.id,
                   "Version-Number": str(hosted.number), "Content-Type": hosted.content_type}
        if hosted.description:
            headers["Description"] = hosted.description
        if hosted.label:
            headers["VersionLabel"] = hosted.label
        if profile.body.get("KmsKeyIdentifier"):
            headers["KmsKeyArn"] = self._profile_out(profile)["KmsKeyArn"]
        return headers

    def create_hosted(self, request: Request, app_id: str, profile_id: str) -> Response:
        profile = self._profile(app_id, profile_id)
        if profile.body["LocationUri"] != "hosted":
            raise AwsError("BadRequestException", "the profile's LocationUri is not hosted")
        latest = max(profile.hosted, default=0)
        expected = request.headers.get("latest-version-number")
        if expected and int(expected) != latest:
            raise AwsError("ConflictException", f"the latest version is {latest}, not {expected}", 409)
        document = self._validate(profile, request.body)
        number = latest + 1
        hosted = Hosted(number, request.body, request.headers.get("content-type", "application/octet-stream"),
                        request.headers.get("description", ""), request.headers.get("versionlabel", ""))
        profile.hosted[number] = hosted
        profile.documents[number] = document if isinstance(document, dict) else {}
        profile.descriptions[number] = hosted.description
        return Response(201, hosted.content, self._hosted_headers(app_id, profile, hosted))

    def _hosted(self, app_id: str, profile_id: str, number: str) -> tuple[Profile, Hosted]:
        profile = self._profile(app_id, profile_id)
        hosted = profile.hosted.get(int(number))
        if hosted is None:
            raise AwsError("ResourceNotFoundException", f"hosted configuration version {number} not found", 404)
        return profile, hosted

    def get_hosted(self, request: Request, app_id: str, profile_id: str, number: str) -> Response:
        profile, hosted = self._hosted(app_id, profile_id, number)
        return Response(200, hosted.content, self._hosted_headers(app_id, profile, hosted))

    def list_hosted(self, request: Request, app_id: str, profile_id: str) -> Response:
        profile = self._profile(app_id, profile_id)
        items = [{"ApplicationId": app_id, "ConfigurationProfileId": profile_id, "VersionNumber": h.number,
                  "Description": h.description, "ContentType": h.content_type}
                 for h in sorted(profile.hosted.values(), key=lambda h: -h.number)]
        return _json(200, {"Items": items})

    def delete_hosted(self, request: Request, app_id: str, profile_id: str, number: str) -> Response:
        profile, hosted = self._hosted(app_id, profile_id, number)
        del profile.hosted[hosted.number]
        profile.documents.pop(hosted.number, None)
        return Response(204)

    # --- deployment strategies ------------------------------------------------------------------
    def _strategy_out(self, strategy: Strategy) -> dict[str, Any]:
        body = self.strategy_bodies.get(strategy.id, {})
        return {"Id": strategy.id, "Name": strategy.name or strategy.id, "Description": body.get("Description", ""),
                "DeploymentDurationInMinutes": int(strategy.duration_s // 60), "GrowthType": strategy.growth_type,
                "GrowthFactor": strategy.growth_factor, "FinalBakeTimeInMinutes": int(strategy.bake_s // 60),
                "ReplicateTo": body.get("ReplicateTo", "NONE")}

    def _strategy_of(self, strategy_id: str, body: dict[str, Any]) -> Strategy:
        duration, bake = int(body["DeploymentDurationInMinutes"]), int(body.get("FinalBakeTimeInMinutes", 0))
        factor = float(body["GrowthFactor"])
        if not (0 <= duration <= 1440 and 0 <= bake <= 1440 and 1 <= factor <= 100):
            raise AwsError("BadRequestException", "DeploymentDurationInMinutes and FinalBakeTimeInMinutes must be "
                           "0-1440 and GrowthFactor 1-100")
        growth = str(body.get("GrowthType", "LINEAR"))
        if growth not in ("LINEAR", "EXPONENTIAL"):
            raise AwsError("BadRequestException", "GrowthType must be LINEAR or EXPONENTIAL")
        return Strategy(strategy_id, 60.0 * duration, 60.0 * bake, growth, factor, name=_name(body))

    def create_strategy(self, request: Request) -> Response:
        body = self._body(request)
        strategy = self._strategy_of(self._new_id(), body)
        self.strategies[strategy.id] = strategy
        self.strategy_bodies[strategy.id] = {k: v for k, v in body.items() if k != "Tags"}
        self._tag(self._arn(f"deploymentstrategy/{strategy.id}"), body.get("Tags"))
        return _json(201, self._strategy_out(strategy))

    def _strategy(self, strategy_id: str) -> Strategy:
        strategy = self.strategies.get(strategy_id) or next(
            (s for s in self.strategies.values() if s.name == strategy_id), None)
        if strategy is None:
            raise AwsError("ResourceNotFoundException", f"Deployment strategy {strategy_id} not found", 404)
        return strategy

    def list_strategies(self, request: Request) -> Response:
        return _json(200, {"Items": [self._strategy_out(s) for s in self.strategies.values()]})

    def get_strategy(self, request: Request, strategy_id: str) -> Response:
        return _json(200, self._strategy_out(self._strategy(strategy_id)))

    def update_strategy(self, request: Request, strategy_id: str) -> Response:
        current, body = self._strategy(strategy_id), self._body(request)
        merged = {**self._strategy_out(current), **body}
        strategy = self._strategy_of(current.id, merged)
        self.strategies[current.id] = strategy
        self.strategy_bodies.setdefault(current.id, {}).update(body)
        return _json(200, self._strategy_out(strategy))

    def delete_strategy(self, request: Request, strategy_id: str) -> Response:
        strategy = self._strategy(strategy_id)
        if strategy.id.startswith("AppConfig."):
            raise AwsError("BadRequestException", "a predefined deployment strategy cannot be deleted")
        del self.strategies[strategy.id]
        return Response(204)

    # --- deployments ----------------------------------------------------------------------------
    def _plane(self, env: Environment, profile: Profile) -> tuple[AppConfig, ControlPlane, Monitor]:
        if profile.id not in env.planes:
            appconfig = AppConfig(self.apps[env.app]["Name"], env.body["Name"], profile.body["Name"])
            appconfig.ids = {"application": env.app, "environment": env.id, "profile": profile.id}
            appconfig.versions = profile.documents
            appconfig.descriptions = profile.descriptions
            appconfig.strategies = self.strategies
            plane = ControlPlane(appconfig, self.state.clock, started=lambda d: None)
            plane.iso = self._iso  # type: ignore[method-assign]
            monitor = Monitor(appconfig, lambda: self._worst(env), attached=True, started_in_alarm="kept")
            appconfig.listeners.append(lambda what, d, t: self._started(env, monitor, what, d, t))
            env.planes[profile.id] = (appconfig, plane, monitor)
        return env.planes[profile.id]

    def _started(self, env: Environment, monitor: Monitor, what: str, d: Any, t: float) -> None:
        if what == "started" and env.body.get("Monitors"):
            monitor.told(what, d, t)

    def _all(self, env: Environment) -> list[tuple[Any, ControlPlane, Any]]:
        return sorted(((d, plane, a) for a, plane, _ in env.planes.values() for d in a.deployments),
                      key=lambda x: x[0].number)

    def start_deployment(self, request: Request, app_id: str, env_id: str) -> Response:
        env, body = self._env(app_id, env_id), self._body(request)
        profile = self._profile(app_id, str(body.get("ConfigurationProfileId")))
        strategy = self._strategy(str(body.get("DeploymentStrategyId")))
        version = str(body.get("ConfigurationVersion", ""))
        if not version.isdigit() or int(version) not in profile.hosted:
            raise AwsError("BadRequestException", f"ConfigurationVersion {version!r} is not a hosted version "
                           "of the profile")
        deployments = self._all(env)
        latest = deployments[-1][0].number if deployments else 0
        if body.get("LatestDeploymentNumber") is not None and int(body["LatestDeploymentNumber"]) != latest:
            raise AwsError("ConflictException", f"the latest deployment is {latest}, not "
                           f"{body['LatestDeploymentNumber']} (LatestDeploymentNumber)", 409)
        now = self.state.clock.now
        for d, _, _ in deployments:
            if d.in_progress(now):
                raise AwsError("ConflictException", f"Deployment #{d.number} is already in progress in "
                               f"environment {env_id}", 409)
        appconfig, plane, _ = self._plane(env, profile)
        number = next(env.numbers)
        deployment = appconfig.deploy(int(version), now, strategy, str(body.get("Description", "")))
        deployment.number = number
        env.details[number] = {"KmsKeyIdentifier": body.get("KmsKeyIdentifier"), "profile": profile.id}
        self._tag(self._arn(f"application/{app_id}/environment/{env_id}/deployment/{number}"), body.get("Tags"))
        return _json(201, self._detail(env, plane, deployment))

    def _detail(self, env: Environment, plane: ControlPlane, d: Any) -> dict[str, Any]:
        out = plane.detail(env.app, env.id, d)
        out["DeploymentStrategyId"] = d.strategy.id
        extra = env.details.get(d.number, {})
        key = extra.get("KmsKeyIdentifier")
        if key:
            out["KmsKeyIdentifier"] = key
            out["KmsKeyArn"] = key if key.startswith("arn:") else \
                f"arn:aws:kms:{self.state.region}:{self.state.account_id}:key/{key}"
        out["ConfigurationLocationUri"] = "hosted"
        if extra.get("TriggeredBy"):
            for event in out["EventLog"]:
                if event["EventType"].startswith("ROLLBACK"):
                    event["TriggeredBy"] = extra["TriggeredBy"]
        return out

    def _find(self, env: Environment, number: str) -> tuple[Any, ControlPlane]:
        for d, plane, _ in self._all(env):
            if d.number == int(number):
                return d, plane
        raise AwsError("ResourceNotFoundException", f"Deployment {number} not found", 404)

    def list_deployments(self, request: Request, app_id: str, env_id: str) -> Response:
        env = self._env(app_id, env_id)
        items = [plane.summary(d) for d, plane, _ in reversed(self._all(env))]
        limit = int((request.query.get("max_results") or ["50"])[0])
        return _json(200, {"Items": items[:limit]})

    def get_deployment(self, request: Request, app_id: str, env_id: str, number: str) -> Response:
        env = self._env(app_id, env_id)
        d, plane = self._find(env, number)
        return _json(200, self._detail(env, plane, d))

    def stop_deployment(self, request: Request, app_id: str, env_id: str, number: str) -> Response:
        env = self._env(app_id, env_id)
        d, plane = self._find(env, number)
        allow = request.headers.get("allow-revert", "").lower() == "true"
        plane.stop_deployment(app_id, env_id, d.number, allow)
        return _json(202, self._detail(env, plane, d))

    # --- tags -------------------------------------------------------------------------------------
    def _known(self, arn: str) -> dict[str, str]:
        tail = arn.split(":", 5)[-1]
        ids = re.findall(r"(?:application|environment|configurationprofile|deploymentstrategy)/([^/]+)", tail)
        known = set(self.apps) | set(self.envs) | set(self.profiles) | set(self.strategies)
        if not ids or ids[-1] not in known and not re.search(r"/deployment/\d+$", tail):
            raise AwsError("ResourceNotFoundException", f"no resource {arn}", 404)
        return self.tags.setdefault(arn, {})

    def list_tags(self, request: Request, arn: str) -> Response:
        return _json(200, {"Tags": dict(self._known(arn))})

    def tag(self, request: Request, arn: str) -> Response:
        self._known(arn).update(self._body(request).get("Tags") or {})
        return Response(204)

    def untag(self, request: Request, arn: str) -> Response:
        tags = self._known(arn)
        for key in parse_qs("&".join(f"{k}={v}" for k, vs in request.query.items() for v in vs)).get("tagKeys", []):
            tags.pop(key, None)
        for key in request.query.get("tagKeys", []):
            tags.pop(key, None)
        return Response(204)

    # --- the data plane (appconfigdata) -----------------------------------------------------------
    def _resolve(self, body: dict[str, Any]) -> tuple[Environment, Profile]:
        app_key, env_key = body.get("ApplicationIdentifier"), body.get("EnvironmentIdentifier")
        profile_key = body.get("ConfigurationProfileIdentifier")
        for env in self.envs.values():
            app = self.apps[env.app]
            if app_key not in (app["Id"], app["Name"]) or env_key not in (env.id, env.body["Name"]):
                continue
            for profile in self.profiles.values():
                if profile.app == env.app and profile_key in (profile.id, profile.body["Name"]):
                    return env, profile
        raise AwsError("ResourceNotFoundException", "no such application, environment or profile", 404)

    def start_session(self, request: Request) -> Response:
        env, profile = self._resolve(self._body(request))
        appconfig = self._plane(env, profile)[0]
        key = (env.id, profile.id)
        data = self.data_planes.setdefault(key, DataPlane(appconfig, self.state.clock))
        body = dict(self._body(request), ApplicationIdentifier=appconfig.path[0],
                    EnvironmentIdentifier=appconfig.path[1], ConfigurationProfileIdentifier=appconfig.path[2])
        status, answer = data.start(body)
        if status != 201:
            raise AwsError("InternalServerException", str(answer), status)
        return _json(201, {"InitialConfigurationToken": f"{env.id}.{profile.id}.{answer['InitialConfigurationToken']}"})

    def latest_configuration(self, request: Request) -> Response:
        token = (request.query.get("configuration_token") or [""])[0]
        env_id, _, rest = token.partition(".")
        profile_id, _, inner = rest.partition(".")
        data = self.data_planes.get((env_id, profile_id))
        if data is None:
            raise AwsError("BadRequestException", "the token is not valid (used, expired or unknown)")
        status, body, headers = data.latest(inner)
        if "Next-Poll-Configuration-Token" in headers:
            headers["Next-Poll-Configuration-Token"] = f"{env_id}.{profile_id}.{headers['Next-Poll-Configuration-Token']}"
        return Response(status, body, headers)
