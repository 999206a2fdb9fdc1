#!/usr/bin/env python3
"""Runs Kiln's benchmarks side by side with Apache Spark, Dask and single-thread C++.

Started by bench/run.sh, which builds everything first. Each benchmark runs on every
system in interleaved repetitions (system A, B, C, A, B, C, ...), every output is
checked against the same checksum, and one table is printed, ending with one
machine-readable line per benchmark:

    RESULT <benchmark> <kiln_s> <spark_s> <dask_s> <single_s>

(median seconds; '-' where a system does not run that benchmark).
"""

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import others  # noqa: E402  (Spark and Dask clusters)

SYSTEMS = ["kiln", "spark", "dask", "single"]


class Sizes:
    """What each benchmark processes, full run or --quick."""

    def __init__(self, quick):
        self.cold_records = 10_000
        self.sched_tasks = 20_000 if quick else 100_000
        # Spark and Dask schedule a few hundred tasks a second here: they run fewer
        # tasks, and their times are scaled to sched_tasks (same tasks/s).
        self.sched_tasks_others = 2_000 if quick else 10_000
        self.sched_jobs = 200 if quick else 1000
        self.text_bytes = (256 if quick else 1024) << 20
        self.sort_bytes = 256_000_000 if quick else 2_000_000_000
        self.shuffle_bytes = (1 if quick else 4) << 30
        self.graph_vertices = 200_000 if quick else 2_000_000
        self.graph_edges = 2_000_000 if quick else 20_000_000
        self.pagerank_iterations = 10
        self.reps_small = 3
        self.reps_large = 1 if quick else 3
        # Reduce partitions of word count and sort, the same on every system.
        self.parts = 4 if quick else 8
        # Larger than memory: 2 executors (workers) of 1 GiB on every system.
        self.sort_spill_bytes = 1_000_000_000 if quick else 4_000_000_000
        self.spill_text_bytes = (256 if quick else 1024) << 20
        self.spill_vocabulary = 50_000_000
        self.spill_memory_gib = 1


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


class KilnCluster:
    """A kiln-master and `workers` kiln-workers on 127.0.0.1, `cores` cores in all;
    applications get `cores` executors of 1 core each, like Spark's."""

    def __init__(self, workdir, bin_dir, cores=2, workers=1, executor_memory="4g",
                 worker_memory="10g", conf=()):
        self.workdir = workdir
        self.bin = bin_dir
        self.cores = cores
        self.workers = workers
        self.executor_memory = executor_memory
        self.worker_memory = worker_memory
        self.conf = list(conf)
        self.procs = []
        self.master = None

    def _start(self, name, argv, ready):
        log = open(os.path.join(self.workdir, name + ".log"), "w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)

        def ready_now():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up; see {log.name}")
            return os.path.exists(ready) and os.path.getsize(ready) > 0

        wait_for(ready_now, 30, f"{name} to start")
        with open(ready) as f:
            return dict(line.strip().split("=", 1) for line in f if "=" in line)

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        ports = self._start("master", [os.path.join(self.bin, "kiln-master"), "--host", "127.0.0.1",
                                       "--port", "0", "--ui-port", "0", "--ready-file",
                                       os.path.join(self.workdir, "master.ready")],
                            os.path.join(self.workdir, "master.ready"))
        self.master = f"kiln://127.0.0.1:{ports['grpc_port']}"
        for i in range(self.workers):
            name = f"worker{i}"
            self._start(name, [os.path.join(self.bin, "kiln-worker"), "--master", self.master,
                               "--host", "127.0.0.1", "--port", "0", "--ui-port", "0",
                               "--cores", str(self.cores // self.workers), "--memory", self.worker_memory,
                               "--work-dir", os.path.join(self.workdir, name),
                               "--ready-file", os.path.join(self.workdir, name + ".ready")],
                        os.path.join(self.workdir, name + ".ready"))
        ui = f"http://127.0.0.1:{ports['ui_port']}/json"

        def workers_alive():
            import json
            import urllib.request
            with urllib.request.urlopen(ui, timeout=2) as r:
                alive = sum(w.get("state") == "ALIVE" for w in json.load(r).get("workers", []))
                return alive >= self.workers

        wait_for(workers_alive, 30, "the Kiln workers to register")

    def worker_pids(self):
        return [p.pid for p in self.procs[1:]]

    def stop(self):
        # Worker first, so it can still report its executors' exits.
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.procs = []

    def command(self, sub, args):
        return [os.path.join(self.bin, "kiln-submit"), "--master", self.master,
                "--executor-cores", "1", "--executor-memory", self.executor_memory,
                "--total-executor-cores", str(self.cores),
                "--conf", "kiln.ui.showConsoleProgress=false",
                *[a for c in self.conf for a in ("--conf", c)],
                os.path.join(self.bin, "kiln_bench"), sub, *args]


class Single:
    """The hand-written single-thread C++ programs (word count, sort, PageRank)."""

    def __init__(self, bin_dir):
        self.bin = bin_dir

    def start(self):
        pass

    def stop(self):
        pass

    def command(self, sub, args):
        if sub == "wordcount":
            return [os.path.join(self.bin, "bench_single_wordcount"), args[0], args[1]]
        if sub == "sort":
            return [os.path.join(self.bin, "bench_single_sort"), args[0], args[1]]
        if sub == "pagerank":  # INPUT ITERS OUTPUT (one thread: no partitions)
            return [os.path.join(self.bin, "bench_single_pagerank"), args[0], args[1], args[2]]
        return None


class TcpBaseline:
    """Loopback TCP as measured by iperf3 (one stream): the yardstick of the shuffle
    benchmarks."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.port = None

    def start(self):
        import socket
        self.port = others.free_ports(1)[0]
        log = open(os.path.join(self.workdir, "iperf3.log"), "w")
        self.proc = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"iperf3 -s exited; see {log.name}")
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(listening, 30, "iperf3 to listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def command(self, sub, args):
        if not sub.startswith("shuffle"):
            return None
        return ["iperf3", "-c", "127.0.0.1", "-p", str(self.port), "-n", args[0], "-J"]

    @staticmethod
    def parse(stdout):
        import json
        received = json.loads(stdout)["end"]["sum_received"]
        return {"seconds": str(received["seconds"]), "bytes": str(received["bytes"])}


class PeakRss(threading.Thread):
    """Samples, every 0.2 s, the resident memory of each process below `roots` (a
    cluster's worker daemons, so: its executors) and keeps the largest one process
    reached, in MiB."""

    def __init__(self, roots):
        super().__init__(daemon=True)
        self.roots = set(roots)
        self.peak_mib = 0.0
        self.done = threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE")

    def sample(self):
        parent, rss = {}, {}
        for pid, fields in others.proc_stats():
            parent[pid] = int(fields[1])
            rss[pid] = int(fields[21]) * self.page
        for pid, size in rss.items():
            p, depth = parent.get(pid), 0
            while p and p not in self.roots and depth < 16:
                p, depth = parent.get(p), depth + 1
            if p in self.roots:
                self.peak_mib = max(self.peak_mib, size / (1 << 20))

    def run(self):
        while not self.done.wait(0.2):
            self.sample()

    def stop(self):
        self.done.set()
        self.join()
        return self.peak_mib


class Run:
    def __init__(self, wall, values):
        self.wall = wall
        self.values = values

    def get(self, key):
        """A BENCH value; "seconds" of a program that prints none (the single-thread
        baselines) is its wall time."""
        if key in self.values:
            return float(self.values[key])
        return self.wall if key == "seconds" else None


def run_once(system, cmd, log_dir, label, timeout, parse=None, rss_roots=None):
    log = os.path.join(log_dir, f"{label}.{system}.log")
    sampler = PeakRss(rss_roots) if rss_roots else None
    if sampler:
        sampler.start()
    t = time.monotonic()
    with open(log, "w") as err:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                  timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{label} on {system} timed out after {timeout}s; see {log}")
        finally:
            peak = sampler.stop() if sampler else None
    wall = time.monotonic() - t
    if proc.returncode != 0:
        with open(log) as f:
            tail = "".join(f.readlines()[-15:])
        raise RuntimeError(f"{label} on {system} exited {proc.returncode}; see {log}\n{tail}")
    run = Run(wall, (parse or others.parse_bench_lines)(proc.stdout))
    if peak is not None:
        run.values["peak_rss_mib"] = str(peak)
    return run


class Benchmark:
    """One benchmark: how to call each system, what to check, what to report."""

    def __init__(self, name, sub, args, reps, metric, unit_of_work=None, unit=None,
                 check=None, systems=SYSTEMS, outputs=False, system_args=None, scale=None,
                 runs_on=None, sample_rss=False, may_fail=()):
        self.name = name
        self.sub = sub
        self.args = args
        self.system_args = system_args or {}  # system -> args, where they differ
        self.scale = scale or {}              # system -> factor applied to its metric
        self.runs_on = runs_on or {}          # system -> the cluster that runs it, if not its own
        self.reps = reps
        self.metric = metric          # "wall" or a BENCH key
        self.unit_of_work = unit_of_work
        self.unit = unit
        self.check = check            # f(output_dir) -> checksum string
        self.systems = systems
        self.outputs = outputs        # True: args end with OUTPUT PARTS
        self.sample_rss = sample_rss  # report the largest executor's peak RSS
        self.may_fail = may_fail      # systems whose failure is a result, not a harness error


def data_file(data_dir, bin_dir, kind, *sizes, seed, extra=()):
    """bench_data KIND SIZES... SEED OUT EXTRA..., generated once into data_dir."""
    path = os.path.join(data_dir, "-".join([kind, *map(str, sizes), str(seed), *map(str, extra)]) + ".txt")
    if not os.path.exists(path):
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        subprocess.run([os.path.join(bin_dir, "bench_data"), kind, *map(str, sizes), str(seed), path + ".tmp",
                        *map(str, extra)], check=True)
        os.rename(path + ".tmp", path)
    return path


def fmt_seconds(xs):
    med = statistics.median(xs)
    return f"{med:.4f} ({min(xs):.4f}-{max(xs):.4f})" if med < 1 else f"{med:.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repetitions (about 12 min)")
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated systems")
    parser.add_argument("--reps", type=int, default=0,
                        help="repetitions of the large benchmarks (default: 3, --quick 1)")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--data-dir", default=os.environ.get("KILN_BENCH_DATA", "/var/tmp/kiln-bench"))
    opts = parser.parse_args()

    sizes = Sizes(opts.quick)
    if opts.reps > 0:
        sizes.reps_large = opts.reps
    bin_dir = os.path.join(opts.build_dir, "bin")
    os.makedirs(opts.data_dir, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="kiln-bench-run.")
    log_dir = os.path.join(run_dir, "logs")
    os.makedirs(log_dir)
    wanted = [s for s in opts.systems.split(",") if s]
    only = [b for b in opts.only.split(",") if b]

    def check_words(out):
        r = subprocess.run([os.path.join(bin_dir, "bench_data"), "check-words", out],
                           check=True, stdout=subprocess.PIPE, text=True)
        return r.stdout.strip()

    def check_ranks(out):
        r = subprocess.run([os.path.join(bin_dir, "bench_data"), "check-ranks", out],
                           check=True, stdout=subprocess.PIPE, text=True)
        return r.stdout.strip()

    def check_sort_of(input_path):
        def check(out):
            r = subprocess.run([os.path.join(bin_dir, "bench_data"), "check-sort", input_path, out],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                raise RuntimeError(r.stderr.strip())
            return r.stdout.strip()
        return check

    benches = []
    if not only or "cold" in only:
        benches.append(Benchmark("cold", "cold", [str(sizes.cold_records)], sizes.reps_small, "wall",
                                 systems=["kiln", "spark", "dask"]))
    if not only or "sched_tasks" in only:
        others_args = [str(sizes.sched_tasks_others)]
        factor = sizes.sched_tasks / sizes.sched_tasks_others
        benches.append(Benchmark("sched_tasks", "sched_tasks", [str(sizes.sched_tasks)], sizes.reps_small,
                                 "seconds", sizes.sched_tasks, "tasks/s", systems=["kiln", "spark", "dask"],
                                 system_args={"spark": others_args, "dask": others_args},
                                 scale={"spark": factor, "dask": factor}))
    if not only or "sched_jobs" in only:
        benches.append(Benchmark("sched_jobs", "sched_jobs", [str(sizes.sched_jobs)], sizes.reps_small,
                                 "median_ms", systems=["kiln", "spark", "dask"]))
    if not only or "wordcount" in only:
        text = data_file(opts.data_dir, bin_dir, "text", sizes.text_bytes, seed=42)
        benches.append(Benchmark("wordcount", "wordcount", [text], sizes.reps_large, "seconds",
                                 sizes.text_bytes / 1e6, "MB/s", check=check_words, outputs=True))
    if not only or "sort" in only:
        records = data_file(opts.data_dir, bin_dir, "records", sizes.sort_bytes, seed=7)
        benches.append(Benchmark("sort", "sort", [records], sizes.reps_large, "seconds",
                                 sizes.sort_bytes / 1e6, "MB/s", check=check_sort_of(records), outputs=True))

    if not only or "pagerank" in only:
        graph = data_file(opts.data_dir, bin_dir, "graph", sizes.graph_vertices, sizes.graph_edges, seed=11)
        benches.append(Benchmark("pagerank", "pagerank", [graph, str(sizes.pagerank_iterations)],
                                 sizes.reps_large, "seconds",
                                 sizes.graph_edges * sizes.pagerank_iterations / 1e6, "Medges/s",
                                 check=check_ranks, outputs=True))

    spill_systems = ["kiln", "spark", "dask"]
    spill_clusters = {"kiln": "kiln_1g", "spark": "spark_1g", "dask": "dask_1g"}
    if not only or "sort_spill" in only:
        records = data_file(opts.data_dir, bin_dir, "records", sizes.sort_spill_bytes, seed=7)
        benches.append(Benchmark("sort_spill", "sort", [records], sizes.reps_large, "seconds",
                                 sizes.sort_spill_bytes / 1e6, "MB/s", check=check_sort_of(records),
                                 outputs=True, systems=spill_systems, runs_on=spill_clusters,
                                 sample_rss=True, may_fail=("dask",)))
    if not only or "wordcount_spill" in only:
        text = data_file(opts.data_dir, bin_dir, "text", sizes.spill_text_bytes, seed=43,
                         extra=[sizes.spill_vocabulary])
        benches.append(Benchmark("wordcount_spill", "wordcount", [text], sizes.reps_large, "seconds",
                                 sizes.spill_text_bytes / 1e6, "MB/s", check=check_words, outputs=True,
                                 systems=spill_systems, runs_on=spill_clusters, sample_rss=True,
                                 may_fail=("dask",)))

    for maps in (16, 200):
        name = f"shuffle_{maps}"
        if not only or name in only:
            benches.append(Benchmark(name, "shuffle", [str(sizes.shuffle_bytes), str(maps), str(maps)],
                                     sizes.reps_small, "seconds", sizes.shuffle_bytes / 1e6, "MB/s",
                                     systems=["kiln", "single"],
                                     system_args={"single": [str(sizes.shuffle_bytes)]},
                                     runs_on={"kiln": "kiln2", "single": "tcp"}))

    clusters = {}
    spark_jar = os.path.join(opts.build_dir, "bench-spark", "kiln-bench-spark.jar")

    def cluster(key):
        """The cluster `key`, started on first use: each system's own (kiln, spark, dask,
        single), kiln2 and tcp for the shuffle benchmarks, *_1g for the spill ones."""
        if key not in clusters:
            workdir = os.path.join(run_dir, key)
            os.makedirs(workdir, exist_ok=True)
            spill_memory = f"{sizes.spill_memory_gib}g"
            if key in ("spark", "spark_1g"):
                subprocess.run(["bash", os.path.join(HERE, "spark", "build.sh"), os.path.dirname(spark_jar)],
                               check=True)
            if key == "kiln":
                c = KilnCluster(workdir, bin_dir)
            elif key == "spark":
                c = others.SparkCluster(workdir, spark_jar)
            elif key == "dask":
                c = others.DaskCluster(workdir)
            elif key == "single":
                c = Single(bin_dir)
            elif key == "kiln2":
                # Two workers, so half of every reducer's blocks cross the network;
                # uncompressed, so the transport is what is measured.
                c = KilnCluster(workdir, bin_dir, workers=2, executor_memory="2g", worker_memory="4g",
                                conf=["kiln.io.compression.codec=none"])
            elif key == "tcp":
                c = TcpBaseline(workdir)
            elif key == "kiln_1g":
                c = KilnCluster(workdir, bin_dir, executor_memory=spill_memory, worker_memory="4g")
            elif key == "spark_1g":
                c = others.SparkCluster(workdir, spark_jar, executor_memory=spill_memory, worker_memory="4g")
            elif key == "dask_1g":
                c = others.DaskCluster(workdir, memory_limit=f"{sizes.spill_memory_gib}GiB")
            else:
                raise SystemExit(f"harness: unknown cluster {key!r}")
            clusters[key] = c
            c.start()
        return clusters[key]

    for system in wanted:
        if system not in SYSTEMS:
            raise SystemExit(f"harness: unknown system {system!r} (--systems takes {','.join(SYSTEMS)})")

    try:
        results = {}   # (bench, system) -> [Run]
        failures = []
        failed_runs = {}  # (bench, system) -> why, for systems that may fail there
        for b in benches:
            systems = [s for s in wanted if s in b.systems]
            reference = None
            for rep in range(b.reps):
                for system in systems:
                    args = list(b.system_args.get(system, b.args))
                    out = None
                    if b.outputs:
                        out = os.path.join(run_dir, f"out-{b.name}-{system}-{rep}")
                        args += [out, str(sizes.parts)]
                    runner = cluster(b.runs_on.get(system, system))
                    cmd = runner.command(b.sub, args)
                    if cmd is None:
                        continue
                    try:
                        r = run_once(system, cmd, log_dir, f"{b.name}.{rep}", timeout=3600,
                                     parse=getattr(runner, "parse", None),
                                     rss_roots=runner.worker_pids() if b.sample_rss else None)
                        if r.values.get("unsupported"):
                            continue
                        if b.name == "cold" and r.get("count") != sizes.cold_records:
                            raise RuntimeError(f"cold on {system} counted {r.values.get('count')}")
                        if b.check:
                            checksum = b.check(out)
                            if reference is None:
                                reference = (system, checksum)
                            elif checksum != reference[1]:
                                raise RuntimeError(f"{b.name} on {system}: output {checksum} differs from "
                                                   f"{reference[0]}'s {reference[1]}")
                        if system in b.scale and b.metric in r.values:
                            r.values[b.metric] = str(float(r.values[b.metric]) * b.scale[system])
                        results.setdefault((b.name, system), []).append(r)
                        print(f"  {b.name} rep {rep + 1}/{b.reps} {system}: "
                              f"{r.get(b.metric) if b.metric != 'wall' else r.wall:.4f}"
                              f"{' [' + checksum + ']' if b.check else ''}", file=sys.stderr, flush=True)
                    except RuntimeError as e:
                        if system in b.may_fail:
                            failed_runs.setdefault((b.name, system), str(e).splitlines()[-1])
                        else:
                            failures.append(str(e))
                        print(f"  FAILED: {e}", file=sys.stderr, flush=True)
                    finally:
                        if out:
                            shutil.rmtree(out, ignore_errors=True)
        print_table(benches, wanted, results, sizes, failed_runs)
        for f in failures:
            print(f"FAILED: {f}")
        return 1 if failures else 0
    finally:
        for c in clusters.values():
            try:
                c.stop()
            except Exception as e:  # keep stopping the others
                print(f"harness: stopping a cluster: {e}", file=sys.stderr)
        if os.environ.get("KILN_BENCH_KEEP") is None:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"harness: kept {run_dir}", file=sys.stderr)


def metric_values(b, runs):
    if b.metric == "wall":
        return [r.wall for r in runs]
    return [r.get(b.metric) for r in runs if r.get(b.metric) is not None]


def print_table(benches, wanted, results, sizes, failed_runs):
    print()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    header = f"{'benchmark':<12} {'system':<7} {'median (min-max)':<26} {'throughput':<20} " \
             f"{'kiln speed-up':<14} {'wall incl. start-up':<20}"
    print(header)
    print("-" * len(header))
    result_lines = []
    for b in benches:
        unit = "ms" if b.metric.endswith("_ms") else "s"
        kiln = metric_values(b, results.get((b.name, "kiln"), []))
        kiln_med = statistics.median(kiln) if kiln else None
        medians = {}
        for system in SYSTEMS:
            runs = results.get((b.name, system), [])
            xs = metric_values(b, runs)
            if (b.name, system) in failed_runs:
                print(f"{b.name:<12} {system:<7} failed: {failed_runs[(b.name, system)][:150]}")
            if not xs:
                continue
            med = statistics.median(xs)
            medians[system] = med
            through = ""
            if b.unit_of_work:
                through = f"{b.unit_of_work / med:,.0f} {b.unit}"
            elif b.metric == "median_ms":
                p99 = statistics.median([r.get("p99_ms") for r in runs])
                through = f"p99 {p99:.3f} ms"
            peaks = [r.get("peak_rss_mib") for r in runs if r.get("peak_rss_mib") is not None]
            if peaks:
                through += f", RSS {max(peaks):,.0f} MiB"
            label = "tcp" if b.runs_on.get(system) == "tcp" else system
            ratio = "" if system == "kiln" or kiln_med is None else f"{med / kiln_med:.1f}x"
            if label == "tcp" and kiln_med:
                ratio = f"Kiln at {med / kiln_med:.0%}"
            walls = [r.wall for r in runs]
            print(f"{b.name:<12} {label:<7} {fmt_seconds(xs) + ' ' + unit:<26} {through:<20} "
                  f"{ratio:<14} {statistics.median(walls):.2f} s")
        result_lines.append("RESULT " + b.name + " " + " ".join(
            f"{medians[s] / (1000 if unit == 'ms' else 1):.6g}" if s in medians else "-" for s in SYSTEMS))
    print()
    print(f"(kiln speed-up = other system's median / Kiln's. sched_tasks: {sizes.sched_tasks:,} empty tasks "
          f"on Kiln; Spark and Dask run {sizes.sched_tasks_others:,} and their times are scaled to "
          f"{sizes.sched_tasks:,}. sched_jobs: ms per one-task job. Word count and sort: "
          f"{sizes.parts} reduce partitions; seconds exclude session start, the last column includes it. "
          f"pagerank: {sizes.graph_vertices:,} vertices, {sizes.graph_edges:,} edges, "
          f"{sizes.pagerank_iterations} rounds, links cached, {sizes.parts} partitions; "
          f"Medges/s = edges x rounds / s. "
          f"shuffle_N: N map x N reduce tasks, {sizes.shuffle_bytes >> 30} GiB uncompressed, read back "
          f"once more and timed, on 2 Kiln workers of 1 core; tcp = iperf3 moving the same bytes over "
          f"loopback, one stream, in the 'single' column of RESULT.)")
    spill = [b for b in benches if b.sample_rss]
    if spill:
        print(f"(sort_spill, wordcount_spill: 2 executors (Dask: worker processes) of "
              f"{sizes.spill_memory_gib} GiB each, {sizes.parts} partitions; RSS = the largest "
              f"resident memory one executor reached, sampled every 0.2 s. Kiln's executors run under "
              f"a hard limit of {sizes.spill_memory_gib} GiB + 384 MiB of overhead.)")
    kiln_sort = [r.get("seconds") for r in results.get(("sort", "kiln"), [])]
    kiln_sort_spill = [r.get("seconds") for r in results.get(("sort_spill", "kiln"), [])]
    if kiln_sort and kiln_sort_spill:
        in_memory = sizes.sort_bytes / statistics.median(kiln_sort)
        spilling = sizes.sort_spill_bytes / statistics.median(kiln_sort_spill)
        print(f"(Kiln sort_spill per byte against Kiln's in-memory sort in this run: "
              f"{spilling / 1e6:,.0f} vs {in_memory / 1e6:,.0f} MB/s = {spilling / in_memory:.2f}x; "
              f"the inputs differ, {sizes.sort_spill_bytes / 1e9:g} against {sizes.sort_bytes / 1e9:g} GB, "
              f"and a larger sort is slower per byte on every system: bench/README.md item 18)")
    for line in result_lines:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
