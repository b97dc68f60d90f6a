"""Two versions of the sidecar at concurrency 1, in one run: a sidecar started from each source tree, both against
one Stripe fake, a direct call and a refund through each taken in turn (the order of the two alternating), so that
both versions meet the machine at the same speed.

Prints each version's overhead over the direct call (p50) and the median of the paired differences, B minus A: a
change of a tenth of a millisecond shows here, where two separate runs of bench.overhead drift by more than that
as the machine's speed moves. Each version gets a ledger of its own (PostgreSQL: a database of its own on the
private server). A script, not a test:
    git worktree add /tmp/before HEAD~1
    .venv/bin/python -m bench.compare /tmp/before . [--requests 300] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.overhead import ROOT, Caller, database_url, direct_refunds, fake_stripe, percentile, sidecar_settings, timed
from tests.fakes.sidecar import serving_sidecar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the source tree of version A (its sidecar/ is imported)")
    parser.add_argument("b", type=Path, help="the source tree of version B")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    with fake_stripe() as (stripe_url, _), tempfile.TemporaryDirectory() as tmp, ExitStack() as sidecars:
        callers: dict[str, tuple[Caller, list[str]]] = {}
        for name, tree in trees.items():
            if not (tree / "sidecar" / "refunder").is_dir():
                parser.error(f"{tree} holds no sidecar/refunder")
            settings = {**sidecar_settings(database_url(args.database, tmp, name.lower()), stripe_url),
                        "PYTHONPATH": f"{tree / 'sidecar'}{os.pathsep}{ROOT}"}
            url, _env = sidecars.enter_context(serving_sidecar(settings, Path(tmp) / f"sidecar-{name}.log"))
            caller = Caller(url)
            callers[name] = caller, caller.register_payments()
        straight = direct_refunds(stripe_url)

        def through(name: str, i: int) -> float:
            caller, ids = callers[name]
            return timed([caller.refund(ids[i % len(ids)])])[0]

        timed([straight(i) for i in range(50)])  # warm up
        for name in trees:
            for i in range(50):
                through(name, i)
        direct: list[float] = []
        took: dict[str, list[float]] = {name: [] for name in trees}
        direct_cpu = 0.0
        for i in range(args.requests):
            began = time.thread_time()
            direct += timed([straight(i)])
            direct_cpu += time.thread_time() - began
            for name in (("A", "B") if i % 2 == 0 else ("B", "A")):
                took[name].append(through(name, i))
        base = percentile(direct, 50)
        paired = percentile([b - a for a, b in zip(took["A"], took["B"], strict=True)], 50)
        print(f"{args.database}, concurrency 1, {args.requests} refunds each; direct p50 {base:.2f} ms, its CPU "
              f"{direct_cpu * 1000 / args.requests:.2f} ms (this machine's speed now); load {os.getloadavg()[0]:.2f}")
        for name, tree in trees.items():
            print(f"{name} ({tree}): overhead p50 {percentile(took[name], 50) - base:.2f} ms")
        print(f"B − A, median of the paired differences: {paired:+.3f} ms")


if __name__ == "__main__":
    main()
