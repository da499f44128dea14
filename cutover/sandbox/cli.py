"""`cutover sandbox up|status|down|inject|clear --env E`: the local sandbox's lifecycle.

``up`` starts ``python -m cutover.sandbox.daemon`` detached (a session of its own, so the
terminal's Ctrl-C does not reach it), waits until its state file says it listens, and
prints the shell lines that point the AWS SDKs, the CLI and Terraform at it (on stdout,
so ``eval "$(cutover sandbox up)"`` applies them; everything else goes to stderr).
``down`` stops it and waits until nothing of it is left. ``status`` asks it what it
simulates; ``inject`` and ``clear`` change the faults of its simulated release.

Exit codes: 0 done (also ``up`` when already up, ``down`` when nothing runs); 1 it did not
start or stop, or (``status``) no sandbox runs; 2 bad input (``--speed``, a fault or its
parameters) or, for ``inject``/``clear``, no sandbox to send it to; 130 interrupted (an
``up`` interrupted stops the sandbox it was starting).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cutover.generator.terraform import sandbox_target
from cutover.generator.terraform.emulator import RunningEmulator

DEFAULT_SPEED = 60.0
MAX_SPEED = 600.0  # ten simulated minutes a second: past that the simulation falls behind
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
EXPORTED = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION")
ACTIONS = ("up", "status", "down", "inject", "clear")


class SandboxError(Exception):
    def __init__(self, message: str, exit_code: int = 2, kind: str = "input") -> None:
        super().__init__(message)
        self.exit_code, self.kind = exit_code, kind


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="production", help="environment (config/<env>.release.yaml)")
    p.add_argument("--json", action="store_true", help="print JSON (also on error)")


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("sandbox", help="a simulated AWS with a live simulated release on this machine")
    actions = top.add_subparsers(dest="sandbox_command", required=True, metavar="{" + ",".join(ACTIONS) + "}")
    p = actions.add_parser("up", help="start it in the background; print the export lines that point AWS tools at it")
    _common(p)
    p.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                   help=f"simulated seconds per wall second (default {DEFAULT_SPEED:g}, at most {MAX_SPEED:g})")
    p.add_argument("--timeout", type=float, default=START_TIMEOUT_S, metavar="SECONDS",
                   help=f"how long to wait for it to listen (default {START_TIMEOUT_S:g})")
    p = actions.add_parser("status", help="what it simulates: time, requests, errors, canary share, faults")
    _common(p)
    p = actions.add_parser("down", help="stop it (nothing left running); nothing to do when it is not up")
    _common(p)
    p = actions.add_parser("inject", help="inject a fault of the rehearsal into the simulated release")
    _common(p)
    p.add_argument("fault", help="a fault kind of the rehearsal (candidate_errors, latency, ...: docs/rehearsal.md)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="a parameter of the fault (repeatable)")
    p = actions.add_parser("clear", help="end an injected fault (every one without FAULT)")
    _common(p)
    p.add_argument("fault", nargs="?", help="the fault kind to end")


def run(args: argparse.Namespace, root: Path) -> int:
    command = f"sandbox {args.sandbox_command}"
    try:
        handler = {"up": _up, "status": _status, "down": _down, "inject": _inject, "clear": _clear}
        return handler[args.sandbox_command](args, root.resolve())
    except SandboxError as exc:
        return _error(command, str(exc), exc.exit_code, exc.kind, args.json)
    except KeyboardInterrupt:
        return _error(command, "interrupted", 130, "interrupted", args.json)


def _error(command: str, message: str, exit_code: int, kind: str, as_json: bool) -> int:
    """The sentence on stderr; with --json, the error document every command prints on stdout."""
    from cutover.ops.output import error_document

    print(f"cutover {command}: {message}", file=sys.stderr)
    if as_json:
        _print_json(error_document(command, message, exit_code, kind))
    return exit_code


def _print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def _say(message: str) -> None:
    print(message, file=sys.stderr)


# --- which sandbox runs ---------------------------------------------------------------

def _gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting for its parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def _is_daemon(pid: int) -> bool:
    """The process is a sandbox daemon (not another program that got a stale file's pid)."""
    try:
        return b"cutover.sandbox.daemon" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists() and not _gone(pid)  # no /proc here: trust the pid
    except OSError:
        return False


def running(root: Path, env: str) -> sandbox_target.SandboxTarget | None:
    """The sandbox of ``env``, or None; a state file left by a dead sandbox is removed."""
    target = sandbox_target.find(root, env)
    if target is not None and not _gone(target.pid) and _is_daemon(target.pid):
        return target
    path = sandbox_target.state_file(root, env)
    if path.exists():
        path.unlink(missing_ok=True)
        _say(f"removed a stale state file ({path.relative_to(root)}: its process is gone)")
    return None


def _ask(target: sandbox_target.SandboxTarget, method: str, action: str, body: Any = None) -> dict[str, Any]:
    """The sandbox's control API (no proxy: it is on loopback)."""
    url = urlsplit(target.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        conn.request(method, f"/_cutover/{action}", body=payload, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        document = json.loads(answer.read() or b"{}")
    except (OSError, ValueError) as exc:
        raise SandboxError(f"the sandbox of {target.env} (pid {target.pid}) does not answer at "
                           f"{target.endpoint}: {exc}; its log: {target.log}", 1, "sandbox") from None
    finally:
        conn.close()
    if answer.status != 200:
        error = document.get("error") or {}
        raise SandboxError(str(error.get("message") or document), 2 if answer.status == 400 else 1,
                           str(error.get("kind") or "sandbox"))
    return document


# --- up -------------------------------------------------------------------------------

def shell_lines(target: sandbox_target.SandboxTarget) -> list[str]:
    """`unset` what would send requests elsewhere, then `export` what points at the sandbox."""
    settings = RunningEmulator(target.endpoint, target.region, target.account_id, Path(target.log))
    values = settings.env()
    lines = [f"unset {' '.join(settings.unset())}"]
    lines.append("export " + " ".join(f"{key}={shlex.quote(values[key])}" for key in EXPORTED))
    return lines


def _up(args: argparse.Namespace, root: Path) -> int:
    if not 0 < args.speed <= MAX_SPEED:
        raise SandboxError(f"--speed {args.speed:g} is not allowed: give simulated seconds per wall second, "
                           f"more than 0 and at most {MAX_SPEED:g} (default {DEFAULT_SPEED:g})")
    _check_env(root, args.env)
    target = running(root, args.env)
    if target is not None:
        _say(f"a sandbox for {args.env} is already up (pid {target.pid}, {target.endpoint}, speed {target.speed:g})"
             + ("" if target.speed == args.speed else f"; `cutover sandbox down --env {args.env}` first "
                f"to restart it at speed {args.speed:g}"))
    else:
        target = _start(root, args.env, args.speed, args.timeout)
        _say(f"sandbox for {args.env} up: pid {target.pid}, {target.endpoint}, speed {target.speed:g} "
             f"(a wall second is {target.speed:g} simulated seconds); log {target.log}")
    _say(f"point your shell at it: eval \"$(cutover sandbox up --env {args.env})\"; "
         f"stop it: cutover sandbox down --env {args.env}")
    if args.json:
        _print_json({"command": "sandbox up", "exitCode": 0, **target.__dict__, "shell": shell_lines(target)})
    else:
        print("\n".join(shell_lines(target)))
    return 0


def _check_env(root: Path, env: str) -> None:
    from cutover.generator.workspace import Layout, UsageError

    layout = Layout(root)
    if not layout.spec_file(env).is_file():
        known = ", ".join(layout.environments()) or "none"
        raise SandboxError(str(UsageError(f"no spec for environment '{env}': "
                                          f"{layout.spec_file(env)} does not exist (known: {known})")))


def _start(root: Path, env: str, speed: float, timeout: float) -> sandbox_target.SandboxTarget:
    log = sandbox_target.state_dir(root, env) / "sandbox.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cutover.sandbox.daemon", "--env", env, "--speed", repr(speed), "--root", str(root)],
            cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return _listening(root, env, process, log, time.monotonic() + timeout)
    except KeyboardInterrupt:
        _kill_group(process.pid)  # not half started, and not left behind
        raise SandboxError(f"interrupted: the sandbox for {env} was stopped before it listened", 130,
                           "interrupted") from None


def _listening(root: Path, env: str, process: subprocess.Popen, log: Path,
               deadline: float) -> sandbox_target.SandboxTarget:
    while time.monotonic() < deadline:
        target = sandbox_target.find(root, env)
        if target is not None and target.pid == process.pid:
            return target
        if process.poll() is not None:
            raise SandboxError(f"the sandbox for {env} did not start (exit code {process.returncode}):\n"
                               f"{_tail(log)}", 1, "sandbox")
        time.sleep(0.1)
    _kill_group(process.pid)
    raise SandboxError(f"the sandbox for {env} did not listen in time; stopped it:\n{_tail(log)}", 1, "sandbox")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


# --- down -----------------------------------------------------------------------------

def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _kill_group(pid: int) -> None:
    """SIGKILL the daemon's process group (it leads its own session), whatever is left of it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _wait_gone(pid, STOP_TIMEOUT_S)


def _down(args: argparse.Namespace, root: Path) -> int:
    target = running(root, args.env)
    if target is None:
        _say(f"no sandbox running for {args.env}")
        if args.json:
            _print_json({"command": "sandbox down", "exitCode": 0, "env": args.env, "stopped": None})
        return 0
    os.kill(target.pid, signal.SIGTERM)
    graceful = _wait_gone(target.pid, STOP_TIMEOUT_S)
    if not graceful:
        _say(f"the sandbox (pid {target.pid}) did not stop within {STOP_TIMEOUT_S:g}s: killing its process group")
    _kill_group(target.pid)  # also whatever it started and left behind
    sandbox_target.state_file(root, args.env).unlink(missing_ok=True)
    _say(f"sandbox for {args.env} stopped (pid {target.pid})")
    if args.json:
        _print_json({"command": "sandbox down", "exitCode": 0, "env": args.env, "stopped": target.pid,
                     "graceful": graceful})
    return 0


# --- status, inject, clear ------------------------------------------------------------

def _required(root: Path, env: str) -> sandbox_target.SandboxTarget:
    target = running(root, env)
    if target is None:
        raise SandboxError(f"no sandbox running for {env}: `cutover sandbox up --env {env}` starts one",
                           2, "missing")
    return target


def _status(args: argparse.Namespace, root: Path) -> int:
    target = running(root, args.env)
    if target is None:
        _say(f"no sandbox running for {args.env}: `cutover sandbox up --env {args.env}` starts one")
        if args.json:
            _print_json({"command": "sandbox status", "exitCode": 1, "env": args.env, "running": False})
        return 1
    status = {**_ask(target, "GET", "status"), "log": target.log, "running": True}
    if args.json:
        _print_json({"command": "sandbox status", "exitCode": 0, **status})
    else:
        print(render_status(status))
    return 0


LABELS = (("pid", "pid"), ("endpoint", "endpoint"), ("speed", "speed"), ("sim_time_s", "simulated time"),
          ("requests", "requests"), ("user_errors", "user-visible errors"),
          ("canary_percent_served", "canary served"), ("last_minute", "canary share (last minute)"),
          ("faults_active", "faults"), ("last_guard_action", "last guard action"),
          ("controller", "controller"), ("resources_applied", "resources applied"), ("error", "simulation error"),
          ("log", "log"))


def render_status(status: dict[str, Any]) -> str:
    rows = [(label, _shown(key, status[key], status)) for key, label in LABELS
            if key in status and not (key in ("error", "controller") and not status[key])]
    width = max(len(label) for label, _ in rows)
    head = f"sandbox {status.get('env')} ({status.get('region')}, account {status.get('account_id')})"
    return "\n".join([head, *(f"  {label:<{width}}  {value}" for label, value in rows)])


def _shown(key: str, value: Any, status: dict[str, Any] | None = None) -> str:
    special = {"sim_time_s": _sim_time, "speed": lambda v, _: f"{v:g} (a wall second is {v:g} simulated seconds)",
               "resources_applied": lambda v, _: "none (make apply ENV=... applies the release here)"
               if v is None else str(v),
               "faults_active": lambda v, _: ", ".join(_fault_text(f) for f in v) if v else "none",
               "canary_percent_served": lambda v, _: ", ".join(f"{p} {pct:g}%" for p, pct in sorted(v.items()))
               or "nothing applied",
               "last_minute": lambda v, _: f"{100 * float(v.get('canary_share', 0)):.1f}% "
               f"({v.get('served_by_candidate', 0)} of {v.get('requests', 0)} requests)",
               "last_guard_action": lambda v, _: "none" if not v else
               f"{v.get('outcome')} at {_sim_time(v.get('at_s', 0), None)} ({v.get('trigger')})",
               "controller": lambda v, _: _controller_text(v)}
    if key in special:
        return special[key](value, status)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _controller_text(controller: dict[str, Any]) -> str:
    """The newest execution of the controller's state machine, as the simulation runs it."""
    run = controller.get("newest")
    if not run:
        return "no execution yet (`cutover controller start`)"
    where = f" in {run['state']}" if run.get("status") == "RUNNING" and run.get("state") else ""
    error = f" ({run['error']})" if run.get("error") else ""
    return f"execution {run.get('name')} {run.get('status')}{where}{error}; {controller.get('invocations', 0)} function calls"


def _sim_time(seconds: Any, status: dict[str, Any] | None) -> str:
    minutes = int(float(seconds) // 60)
    text = f"{minutes // 60}h {minutes % 60:02d}m ({float(seconds):.0f} s)"
    return f"{text}, {status['sim_time']}" if status and status.get("sim_time") else text


def _fault_text(fault: Any) -> str:
    if isinstance(fault, dict):
        params = ", ".join(f"{k}={v}" for k, v in sorted(fault.items()) if k not in ("kind", "fault"))
        return f"{fault.get('kind') or fault.get('fault')}" + (f" ({params})" if params else "")
    return str(fault)


def fault_kinds() -> tuple[str, ...]:
    """The rehearsal's fault kinds that can be injected into a running release."""
    from cutover.rehearsal.scenario import FAULT_KINDS

    from .faults import NOT_INJECTABLE

    return tuple(k for k in FAULT_KINDS if k not in NOT_INJECTABLE)


def parse_fault(kind: str, params: list[str]) -> dict[str, Any]:
    """The parameters of one of the rehearsal's faults, checked as a scenario's would be
    (docs/rehearsal.md), plus ``for_minutes`` (it ends by itself then); raises
    SandboxError saying what is allowed."""
    from pydantic import TypeAdapter, ValidationError

    from cutover.rehearsal.scenario import Fault

    from .faults import NOT_INJECTABLE

    if kind not in fault_kinds():
        why = f" ({NOT_INJECTABLE[kind]})" if kind in NOT_INJECTABLE else ""
        raise SandboxError(f"{'cannot inject' if why else 'unknown fault'} '{kind}'{why}: "
                           f"allowed {', '.join(fault_kinds())}")
    given: dict[str, Any] = {}
    for item in params:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SandboxError(f"--param {item!r}: give KEY=VALUE")
        try:
            given[key] = json.loads(text)
        except ValueError:
            given[key] = text
    when = {"minute": 0, **({"for_minutes": given["for_minutes"]} if "for_minutes" in given else {})}
    try:
        TypeAdapter(Fault).validate_python({"kind": kind, "when": when,
                                            **{k: v for k, v in given.items() if k != "for_minutes"}})
    except ValidationError as exc:
        raise SandboxError(f"fault {kind}: {_problems(exc)}; allowed parameters: {_allowed(kind)}") from None
    return given


def _problems(exc: Any) -> str:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"][1:] if p != "when") or "parameters"
        msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(f"{loc}: {msg}")
    return "; ".join(out)


def _allowed(kind: str) -> str:
    from cutover.rehearsal import scenario

    model = next(m for m in vars(scenario).values()
                 if isinstance(m, type) and issubclass(m, scenario.Model) and "kind" in m.model_fields
                 and m.model_fields["kind"].annotation.__args__ == (kind,))
    names = [name for name in model.model_fields if name not in ("kind", "when")]
    return ", ".join([*names, "for_minutes"])


def _inject(args: argparse.Namespace, root: Path) -> int:
    params = parse_fault(args.fault, args.param)
    answer = _ask(_required(root, args.env), "POST", "inject", {"fault": args.fault, "params": params})
    _say(f"injected {args.fault}" + (f" ({', '.join(args.param)})" if args.param else ""))
    return _after_change("inject", answer, args.json)


def _clear(args: argparse.Namespace, root: Path) -> int:
    if args.fault is not None and args.fault not in fault_kinds():
        raise SandboxError(f"unknown fault '{args.fault}': allowed {', '.join(fault_kinds())}")
    answer = _ask(_required(root, args.env), "POST", "clear", {"fault": args.fault})
    _say(f"cleared {args.fault or 'every fault'}")
    return _after_change("clear", answer, args.json)


def _after_change(action: str, answer: dict[str, Any], as_json: bool) -> int:
    if as_json:
        _print_json({"command": f"sandbox {action}", "exitCode": 0, **answer})
    else:
        faults = (answer.get("status") or {}).get("faults_active")
        print(f"faults: {_shown('faults_active', faults or [])}")
    return 0
