"""Lifecycle of the systems Kiln is compared with: Apache Spark (standalone) and Dask.

Both clusters run on 127.0.0.1 as child processes of the caller, each daemon in its
own session (process group), so stop() can kill a daemon together with everything it
spawned (Spark executors, Dask nannies and worker processes). stop() is idempotent and
is also registered with atexit; SIGTERM/SIGHUP in the caller raise SystemExit through a
handler installed by start() when no handler was set, so atexit runs on those too.

    spark = SparkCluster(workdir, jar); spark.start()
    argv = spark.command("sort", [inp, out, "4"])   # run it, read stdout
    parse_bench_lines(stdout) -> {"seconds": "1.23", ...}
    spark.stop()

Only the Python standard library is used here; the Spark and Dask binaries come from
the installed pyspark and distributed packages.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
DASK_BENCH = os.path.join(BENCH_DIR, "dask_bench.py")
START_TIMEOUT_S = 120.0


def parse_bench_lines(stdout: str) -> dict[str, str]:
    """Collects 'BENCH key value' lines; a later key overrides an earlier one."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        parts = line.strip().split(None, 2)
        if len(parts) == 3 and parts[0] == "BENCH":
            out[parts[1]] = parts[2]
    return out


def free_ports(n: int) -> list[int]:
    """n distinct ports that were free a moment ago (bind port 0 on 127.0.0.1)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def java_home() -> str:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if not java:
        raise RuntimeError("java not found on PATH; install a JDK 17 or set JAVA_HOME")
    return os.path.dirname(os.path.dirname(os.path.realpath(java)))


def spark_home() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise RuntimeError("pyspark is not installed; pip install pyspark")
    return os.path.dirname(spec.origin)


_SIGNALS_INSTALLED = False


def _install_exit_signals() -> None:
    """Makes SIGTERM/SIGHUP exit through SystemExit so atexit handlers run."""
    global _SIGNALS_INSTALLED
    if _SIGNALS_INSTALLED:
        return
    _SIGNALS_INSTALLED = True

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _exit)
        except ValueError:  # not the main thread
            pass


class _Daemon:
    """One child process started in its own session; killed with its whole group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: str):
        self.name = name
        self.log_path = os.path.join(log_dir, name + ".log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid  # session leader: pgid == pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, grace_s: float = 5.0) -> None:
        """SIGTERM to the group, then SIGKILL to whatever is left of it."""
        _signal_group(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _group_exists(self.pgid):
            self.proc.poll()  # reap the leader so it stops counting
            time.sleep(0.05)
        _signal_group(self.pgid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_exists(self.pgid):
            time.sleep(0.05)

    def tail(self, n: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def proc_stats():
    """(pid, fields of /proc/<pid>/stat after the command: state, ppid, pgrp, ...) of
    every process now."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        yield int(entry), stat[stat.rfind(b")") + 2:].split()


def _group_exists(pgid: int) -> bool:
    """True while any process (other than a zombie) is in the group."""
    return any(len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid
               for _, fields in proc_stats())


class _Cluster:
    """Shared start/stop bookkeeping: daemons, atexit, cleanup on a failed start."""

    def __init__(self, workdir: str):
        self.workdir = os.path.abspath(workdir)
        self._daemons: list[_Daemon] = []
        self._started = False
        self._atexit_registered = False

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> _Daemon:
        d = _Daemon(name, argv, env, self.workdir)
        self._daemons.append(d)
        return d

    def start(self) -> None:
        if self._started:
            return
        os.makedirs(self.workdir, exist_ok=True)
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        _install_exit_signals()
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        daemons, self._daemons = self._daemons, []
        for d in reversed(daemons):  # workers (and their children) before the master
            d.kill()
        self._started = False

    def worker_pids(self) -> list[int]:
        """The worker daemons: their descendants are the executors (worker processes)."""
        return [d.proc.pid for d in self._daemons if "worker" in d.name]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _wait(self, what: str, ready, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while True:
            for d in self._daemons:
                if not d.alive():
                    raise RuntimeError(
                        f"{d.name} exited with code {d.proc.returncode} while waiting for "
                        f"{what}; log {d.log_path}:\n{d.tail()}")
            if ready():
                return
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {d.log_path}\n{d.tail()}" for d in self._daemons)
                raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}\n{logs}")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _start(self) -> None:
        raise NotImplementedError


class SparkCluster(_Cluster):
    """Spark standalone master + one worker from the pyspark package, on 127.0.0.1.

    Applications get spark.cores.max=cores with 1 core per executor, i.e. `cores`
    single-core executors, each with executor_memory; the worker offers worker_memory.
    """

    def __init__(self, workdir: str, jar: str, cores: int = 2, executor_memory: str = "4g",
                 worker_memory: str = "8g", driver_memory: str = "2g"):
        super().__init__(workdir)
        self.jar = os.path.abspath(jar)
        self.cores = cores
        self.executor_memory = executor_memory
        self.worker_memory = worker_memory
        self.driver_memory = driver_memory
        self.spark_home = spark_home()
        self.master_url = ""
        self.master_ui_port = 0

    def environment(self) -> dict[str, str]:
        """Variables every Spark process here needs (daemons and spark-submit)."""
        return {
            "JAVA_HOME": java_home(),
            "SPARK_HOME": self.spark_home,
            "SPARK_LOCAL_IP": "127.0.0.1",
            # An empty conf dir: no spark-defaults.conf or spark-env.sh from elsewhere.
            "SPARK_CONF_DIR": os.path.join(self.workdir, "spark-conf"),
        }

    def _start(self) -> None:
        env = dict(os.environ)
        env.update(self.environment())
        os.makedirs(env["SPARK_CONF_DIR"], exist_ok=True)
        worker_dir = os.path.join(self.workdir, "spark-worker")
        os.makedirs(worker_dir, exist_ok=True)
        spark_class = os.path.join(self.spark_home, "bin", "spark-class")

        master_port, self.master_ui_port, worker_port, worker_ui_port = free_ports(4)
        self.master_url = f"spark://127.0.0.1:{master_port}"
        self._spawn("spark-master", [
            spark_class, "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(master_port),
            "--webui-port", str(self.master_ui_port)], env)
        self._wait("the Spark master web UI", lambda: self._master_state() is not None)
        self._spawn("spark-worker", [
            spark_class, "org.apache.spark.deploy.worker.Worker",
            "--host", "127.0.0.1", "--port", str(worker_port),
            "--webui-port", str(worker_ui_port),
            "--cores", str(self.cores), "--memory", self.worker_memory,
            "--work-dir", worker_dir, self.master_url], env)
        self._wait("the Spark worker to be ALIVE", self._worker_alive)

    def _master_state(self) -> dict | None:
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
            with opener.open(f"http://127.0.0.1:{self.master_ui_port}/json/", timeout=2) as r:
                return json.load(r)
        except (OSError, ValueError):
            return None

    def _worker_alive(self) -> bool:
        state = self._master_state() or {}
        return any(w.get("state") == "ALIVE" and w.get("cores", 0) >= self.cores
                   for w in state.get("workers", []))

    def command(self, sub: str, args: list[str]) -> list[str]:
        if not self.master_url:
            raise RuntimeError("SparkCluster.command() before start()")
        env = [f"{k}={v}" for k, v in self.environment().items()]
        return ["env", *env, os.path.join(self.spark_home, "bin", "spark-submit"),
                "--master", self.master_url,
                "--class", "KilnBench",
                "--conf", "spark.executor.cores=1",
                "--conf", f"spark.cores.max={self.cores}",
                "--conf", f"spark.executor.memory={self.executor_memory}",
                "--conf", f"spark.driver.memory={self.driver_memory}",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.log.level=WARN",
                self.jar, sub, *map(str, args)]


class DaskCluster(_Cluster):
    """`dask scheduler` + `dask worker --nworkers N --nthreads 1` on 127.0.0.1."""

    def __init__(self, workdir: str, nworkers: int = 2, memory_limit: str = "4GiB"):
        super().__init__(workdir)
        self.nworkers = nworkers
        self.memory_limit = memory_limit
        self.scheduler_file = os.path.join(self.workdir, "dask-scheduler.json")

    def _start(self) -> None:
        env = dict(os.environ)
        local_dir = os.path.join(self.workdir, "dask-worker-space")
        os.makedirs(local_dir, exist_ok=True)
        if os.path.exists(self.scheduler_file):
            os.remove(self.scheduler_file)
        dask_bin = os.path.join(os.path.dirname(sys.executable), "dask")
        dask = [dask_bin] if os.path.exists(dask_bin) else [sys.executable, "-m", "dask"]
        self._spawn("dask-scheduler", [
            *dask, "scheduler", "--scheduler-file", self.scheduler_file,
            "--host", "127.0.0.1", "--port", "0", "--no-dashboard"], env)
        self._wait("the Dask scheduler file", lambda: os.path.exists(self.scheduler_file))
        self._spawn("dask-worker", [
            *dask, "worker", "--scheduler-file", self.scheduler_file,
            "--host", "127.0.0.1", "--nworkers", str(self.nworkers), "--nthreads", "1",
            "--memory-limit", self.memory_limit, "--no-dashboard",
            "--local-directory", local_dir], env)
        self._wait(f"{self.nworkers} Dask workers", self._workers_connected)

    def _workers_connected(self) -> bool:
        # A short-lived client in a child process keeps distributed out of the caller.
        probe = ("import sys\n"
                 "from distributed import Client\n"
                 "with Client(scheduler_file=sys.argv[1], timeout='10s') as c:\n"
                 "    c.wait_for_workers(int(sys.argv[2]), timeout='5s')\n")
        r = subprocess.run([sys.executable, "-c", probe, self.scheduler_file,
                            str(self.nworkers)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True, timeout=60)
        return r.returncode == 0

    def command(self, sub: str, args: list[str]) -> list[str]:
        return [sys.executable, DASK_BENCH, "--scheduler-file", self.scheduler_file,
                sub, *map(str, args)]
