"""Generator: render, then ``terraform validate``, specs with 1, 5 and 10 read paths.

The specs are made deterministically from config/production.release.yaml: read path i
is its one path renamed ``read-NN`` (function names, flag keys, salt and database user
suffixed the same way). Render is timed in a fresh process per run (imports, load and
validation of the spec, plan, templates, written to a temporary directory): what
``cutover render`` costs a user. ``terraform validate`` runs on the rendered directory
(init once, offline, through the provider mirror; validate timed). "Linear": the cost of
one more path from 5 to 10 paths is at most 1.5x the cost from 1 to 5, plus a noise
allowance of 5% of the 1-path time (at least 5 ms).
"""

from __future__ import annotations

import copy
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import ROOT, Row

ORDER = 60
COUNTS = (1, 5, 10)

RENDER = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from cutover.generator.spec.loader import load_spec
from cutover.generator.plan.release import build_plan
from cutover.generator.render.files import render_files, write_tree
spec_file, out = sys.argv[1], Path(sys.argv[2])
files = render_files(build_plan(load_spec(spec_file), spec_file))
write_tree(out, files)
sys.stderr.write(json.dumps([time.perf_counter() - t0, len(files)]))
"""


def spec_with_paths(count: int) -> dict:
    base = yaml.safe_load((ROOT / "config" / "production.release.yaml").read_text())
    template = base["read_paths"][0]
    paths = []
    for i in range(count):
        path = copy.deepcopy(template)
        suffix = f"{i:02d}"
        path["name"] = f"read-{suffix}"
        path["control"]["name"] = f"{template['control']['name']}-{suffix}"
        path["candidate"]["name"] = f"{template['candidate']['name']}-{suffix}"
        path["shadow"]["flag_key"] = f"{template['shadow']['flag_key']}-{suffix}"
        path["canary"]["flag_key"] = f"{template['canary']['flag_key']}-{suffix}"
        path["canary"]["salt"] = f"{template['canary']['salt']}-{suffix}"
        path["database"]["user"] = f"{template['database']['user']}_{suffix}"
        paths.append(path)
    base["read_paths"] = paths
    return base


def render_once(spec_file: Path, out: Path) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RENDER, str(spec_file), str(out)], cwd=ROOT,
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=True)
    seconds, files = json.loads(proc.stderr.strip().splitlines()[-1])
    return seconds, files


def _layout(tmp: Path) -> Path:
    """tmp/terraform/{modules -> the repository's modules, envs/} and tmp/build -> the
    packages `make build` made: the rendered roots reach ../../modules and ../../../build
    as they do in the repository."""
    (tmp / "terraform" / "envs").mkdir(parents=True)
    (tmp / "terraform" / "modules").symlink_to(ROOT / "terraform" / "modules")
    (tmp / "build").symlink_to(ROOT / "build")
    return tmp / "terraform" / "envs"


def _check_packages(root_dir: Path) -> None:
    """Every package the rendered root hashes must exist, or validate fails obscurely."""
    wanted = set(re.findall(r'filebase64sha256\("\$\{path\.module\}/\.\./\.\./\.\./([^"]+)"\)',
                            (root_dir / "main.tf").read_text()))
    missing = sorted(p for p in wanted if not (ROOT / p).is_file())
    if missing:
        raise RuntimeError(f"terraform validate needs the packages {', '.join(missing)}: "
                           "run `make build` first")


def _marginals(seconds: dict[int, float]) -> tuple[float, float]:
    return ((seconds[5] - seconds[1]) / 4, (seconds[10] - seconds[5]) / 5)


def _linear(seconds: dict[int, float]) -> bool:
    early, late = _marginals(seconds)
    return late <= 1.5 * max(early, 0.0) + max(0.005, 0.05 * seconds[1])


def run(ctx) -> list[Row]:
    from cutover.generator.terraform.wrapper import Terraform

    runs = 1 if ctx.quick else 7
    validate_runs = 1 if ctx.quick else 5
    render_s: dict[int, float] = {}
    validate_s: dict[int, float] = {}
    files: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="cutover-bench-gen-") as tmp_name:
        tmp = Path(tmp_name)
        envs = _layout(tmp)
        specs = {}
        for count in COUNTS:
            specs[count] = tmp / f"paths-{count}.release.yaml"
            specs[count].write_text(yaml.safe_dump(spec_with_paths(count), sort_keys=False))
            render_once(specs[count], envs / f"paths-{count}")  # .pyc warm, directory made
        samples: dict[int, list[float]] = {c: [] for c in COUNTS}
        for _ in range(runs):
            for count in COUNTS:
                seconds, files[count] = render_once(specs[count], envs / f"paths-{count}")
                samples[count].append(seconds)
        render_s = {c: statistics.median(v) for c, v in samples.items()}
        _check_packages(envs / "paths-10")
        tf = Terraform.discover(cache_dir=ROOT / ".cache" / "terraform")
        local = {c: Terraform(**{**tf.__dict__, "data_dir": tmp / "tfdata" / str(c)})
                 for c in COUNTS}
        for count in COUNTS:
            local[count].init(envs / f"paths-{count}", backend=False)
        times: dict[int, list[float]] = {c: [] for c in COUNTS}
        for _ in range(validate_runs):  # sizes interleaved: the machine's noise hits all
            for count in COUNTS:
                t = time.perf_counter()
                local[count].validate(envs / f"paths-{count}")
                times[count].append(time.perf_counter() - t)
        validate_s = {c: statistics.median(v) for c, v in times.items()}
    rows = []
    for label, seconds, target, met, n in (
            ("render (fresh process: load, plan, templates, write)", render_s,
             "linear; 10 paths < 1 s", _linear(render_s) and render_s[10] < 1.0, runs),
            ("terraform validate of the rendered root", validate_s, "linear",
             _linear(validate_s), validate_runs)):
        early, late = _marginals(seconds)
        rows.append(Row(
            name="generator-" + label.split()[0].replace("terraform", "validate"),
            measure=f"generator {label}, 1 / 5 / 10 read paths (median)",
            figure=" / ".join(f"{seconds[c] * 1e3:,.0f} ms" for c in COUNTS), baseline="—",
            result=f"+{early * 1e3:,.1f} ms/path (1→5), +{late * 1e3:,.1f} ms/path (5→10)",
            target=target, met=met, ratio=seconds[10] / seconds[1],
            ratio_of="10 paths / 1 path",
            values={f"paths_{c}_s": seconds[c] for c in COUNTS} | {"runs": n},
            analysis="" if met or "render" in label else (
                "The time is spent in terraform's own process, not in Python, so there is "
                "no pyinstrument profile: terraform validate loads the AWS provider's "
                "schema (a fixed cost of seconds) and then checks every resource, so the "
                "per-path increments are small beside that fixed cost and move with the "
                "machine's load between runs (medians per size in values)."),
            note=f"median of {n} run(s) per size; files rendered: "
                 + ", ".join(f"{c} paths={files[c]}" for c in COUNTS)))
    return rows


def workload(ctx, name: str):
    if name != "generator-render":
        return None  # terraform validate: another process, not Python
    from cutover.generator.plan.release import build_plan
    from cutover.generator.render.files import render_files
    from cutover.generator.spec.loader import load_spec

    tmp = Path(tempfile.mkdtemp(prefix="cutover-bench-gen-"))
    spec_file = tmp / "paths-10.release.yaml"
    spec_file.write_text(yaml.safe_dump(spec_with_paths(10), sort_keys=False))
    return lambda: [render_files(build_plan(load_spec(spec_file), str(spec_file)))
                    for _ in range(5)]
