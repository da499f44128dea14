"""Rehearsal benchmark: the example spec's whole ramp with about 200,000 requests.

    .venv/bin/python bench/rehearse.py [--quick] [--database-url URL]

The healthy population (100 requests/min) through shadow and every canary step of
config/production.release.yaml, holds sized so that the ramp ends after about 2,000
simulated minutes (200,000 requests; --quick: a tenth). Prints the wall time, the
requests per second, the peak RSS of this process (ru_maxrss; PostgreSQL runs in its
own processes) and the machine it ran on. Target (issue 8): under 120 s for 200,000.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_S = 120.0


def scenario(quick: bool):
    from rehearsal.scenario import Expect, Ramp, Scenario, Traffic

    scale = 0.1 if quick else 1.0
    ramp = Ramp(shadow_minutes=round(200 * scale), hold_minutes=round(300 * scale),
                step_hold_minutes={1: round(600 * scale)}, max_holds=1)
    return Scenario(name="bench-quick" if quick else "bench", seed=2026,
                    description="healthy population, the example spec's whole ramp",
                    traffic=Traffic(requests_per_minute=100, users=5000, key_skew=1.0),
                    ramp=ramp, expect=Expect(outcome="promoted"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the size (CI smoke)")
    parser.add_argument("--database-url")
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="where `make build` wrote the packages")
    args = parser.parse_args(argv)
    from generator.loader import load_spec
    from rehearsal.engine import Options, Rehearsal

    sys.setswitchinterval(0.0005)
    spec = load_spec(ROOT / "config" / "production.release.yaml")
    options = Options(spec, "config/production.release.yaml", scenario(args.quick), None,
                      args.build, ROOT / "terraform" / "envs" / "production" / "alarms.json",
                      args.database_url)
    report = Rehearsal(options).run()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals = report["totals"]
    rate = totals["requests"] / totals["wall_seconds"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"rehearsal: {totals['requests']:,} requests over {totals['simulated_minutes']:,} simulated minutes "
          f"({report['outcome']['result']}) in {totals['wall_seconds']:.1f} s wall "
          f"= {rate:,.0f} requests/s; peak RSS {totals['peak_rss_mb']} MB; "
          f"flag reads {totals['flag_reads']:,}, cold starts {totals['cold_starts']}")
    print(f"CPU of this process: {usage.ru_utime:.1f} s user + {usage.ru_stime:.1f} s system "
          f"({(usage.ru_utime + usage.ru_stime) / totals['wall_seconds']:.0%} of the wall time; "
          "the rest is waiting: PostgreSQL, thread hand-offs, other load on the machine)")
    if not args.quick:
        projected = totals["wall_seconds"] * 200_000 / totals["requests"]
        verdict = "within" if projected <= TARGET_S else "OVER"
        print(f"target: 200,000 requests in {TARGET_S:.0f} s: {verdict} ({projected:.0f} s for 200,000 "
              f"at this rate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
