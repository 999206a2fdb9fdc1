#!/usr/bin/env python3
"""What seeing inside a job costs: sched_tasks and word count with the application UI
and the job doctor on (the defaults) and off, on one Kiln cluster, in alternated pairs.

    python3 bench/ui_cost.py [--pairs N] [--quick] [--only sched_tasks,wordcount]

Build first (bench/run.sh does, or `ninja -C build`). Each pair runs the benchmark once
with `kiln.ui.enabled=false` and `kiln.doctor.enabled=false` and once with the defaults,
in alternating order, on the same cluster (two executors of one core, as the main
harness's). Printed per benchmark: the medians of both, the median of the pairs' ratios
(on / off), the cost that ratio gives, a 90% bootstrap interval of it, and for
sched_tasks the cost as time per task (the median of the pairs' differences). A pair's
ratio compares runs made seconds apart, so it is steadier than the ratio of medians on a
machine whose speed drifts.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

OFF = ["kiln.ui.enabled=false", "kiln.doctor.enabled=false"]


def median_interval(ratios, resamples=2000, seed=1):
    """A 90% bootstrap interval of the median of `ratios` (resampled with replacement,
    seeded: the same ratios give the same interval). On this 2-core VM one run of 20
    pairs moved by about 4 points from run to run: a change smaller than the interval
    needs more pairs, or more runs, to show."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    return medians[int(0.05 * resamples)], medians[int(0.95 * resamples) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20, help="alternated on/off pairs per benchmark (default 20)")
    parser.add_argument("--quick", action="store_true", help="the harness's --quick sizes")
    parser.add_argument("--only", default="sched_tasks,wordcount", help="comma-separated: sched_tasks, wordcount")
    parser.add_argument("--build-dir", default=os.path.join(harness.ROOT, "build"))
    parser.add_argument("--data-dir", default=os.environ.get("KILN_BENCH_DATA", "/var/tmp/kiln-bench"))
    opts = parser.parse_args()
    if opts.pairs < 1:
        raise SystemExit("ui_cost: --pairs must be at least 1")
    wanted = [b for b in opts.only.split(",") if b]
    for b in wanted:
        if b not in ("sched_tasks", "wordcount"):
            raise SystemExit(f"ui_cost: unknown benchmark {b!r} (--only takes sched_tasks, wordcount)")
    bin_dir = os.path.join(opts.build_dir, "bin")
    if not os.path.exists(os.path.join(bin_dir, "kiln_bench")):
        raise SystemExit(f"ui_cost: {bin_dir}/kiln_bench not found; build first (ninja -C {opts.build_dir})")
    sizes = harness.Sizes(opts.quick)
    os.makedirs(opts.data_dir, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="kiln-ui-cost-")
    cluster = harness.KilnCluster(os.path.join(run_dir, "cluster"), bin_dir)
    os.makedirs(cluster.workdir)
    benches = []
    if "sched_tasks" in wanted:
        benches.append(("sched_tasks", [str(sizes.sched_tasks)], False))
    if "wordcount" in wanted:
        text = harness.data_file(opts.data_dir, bin_dir, "text", sizes.text_bytes, seed=42)
        benches.append(("wordcount", [text], True))
    cluster.start()
    try:
        for name, args, outputs in benches:
            times = {"on": [], "off": []}
            ratios = []
            for i in range(opts.pairs):
                pair = {}
                for mode in (("off", "on") if i % 2 == 0 else ("on", "off")):
                    cluster.conf = OFF if mode == "off" else []
                    out = os.path.join(run_dir, f"out-{name}-{i}-{mode}")
                    argv = args + ([out, str(sizes.parts)] if outputs else [])
                    run = harness.run_once("kiln", cluster.command(name, argv), run_dir, f"{name}-{i}-{mode}", 1800)
                    shutil.rmtree(out, ignore_errors=True)
                    pair[mode] = run.get("seconds")
                    times[mode].append(pair[mode])
                ratios.append(pair["on"] / pair["off"])
            ratio = statistics.median(ratios)
            low, high = median_interval(ratios)
            # The cost as time per task too: a ratio grows as the rest of the scheduler gets faster.
            per_task = ""
            if name == "sched_tasks":
                diff = statistics.median(on - off for on, off in zip(times["on"], times["off"]))
                per_task = f"; {1e6 * diff / sizes.sched_tasks:+.2f} us per task (median of the pairs' differences)"
            print(f"{name}: UI and doctor off {statistics.median(times['off']):.3f} s, on "
                  f"{statistics.median(times['on']):.3f} s (medians of {opts.pairs}); median of the pairs' "
                  f"ratios {ratio:.3f}: {100 * (ratio - 1):+.1f}% (90% interval {100 * (low - 1):+.1f}% "
                  f"to {100 * (high - 1):+.1f}%){per_task}", flush=True)
            print(f"RESULT ui_cost {name} {ratio:.4f}")
    finally:
        cluster.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
