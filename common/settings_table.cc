// The table of every setting Kiln knows (common/settings.h): AllSettings, FindSetting.
// Edit a row here, then regenerate the README's table with `kiln-submit --help-settings`
// (a test compares them).
#include "common/settings.h"

namespace kiln {
namespace {

using T = SettingType;

// A row of the table, every field given (the table's rows leave out what their type
// does not use).
constexpr SettingDef Def(std::string_view name, SettingType type, std::string_view default_value,
                         std::string_view doc, unsigned readers, int64_t min = 0, int64_t max = 0,
                         std::string_view choices = {}) {
  return SettingDef{name, type, default_value, doc, readers, min, max, choices};
}

// Sorted by name (checked by a unit test).
constexpr SettingDef kSettings[] = {
    Def("kiln.app.name", T::kString, "",
        "Application name shown by the master; empty = the program's file name.", kApp),
    Def("kiln.app.timeout", T::kDuration, "60s",
        "The master ends an application whose driver has been silent this long.", kMaster),
    Def("kiln.authenticate", T::kBool, "false",
        "Every RPC carries a token made with the cluster's shared secret, and servers refuse "
        "calls without a valid one (UNAUTHENTICATED). Set it on every daemon and application "
        "of a cluster.",
        kMaster | kWorker | kApp),
    Def("kiln.authenticate.secretFile", T::kString, "",
        "File holding the shared secret (at least 16 bytes; surrounding whitespace ignored); "
        "empty = the environment variable KILN_AUTH_SECRET. Never given on a command line; "
        "executors get it from their worker through a pipe.",
        kMaster | kWorker | kApp),
    Def("kiln.broadcast.blockSize", T::kBytes, "4m",
        "Size of the chunks a broadcast variable is cut into: executors fetch them one by one, "
        "from the driver or from workers whose executors hold them, checked with XXH64.",
        kApp),
    Def("kiln.cores.max", T::kInt, "0",
        "Cap on an application's total executor cores across the cluster; 0 = no cap.", kApp, 0,
        kIntMax),
    Def("kiln.default.parallelism", T::kInt, "0",
        "Partitions of parallelize and of wide operations when none is given; 0 = total "
        "executor cores (at least 2).",
        kApp, 0, kIntMax),
    Def("kiln.deploy.defaultCores", T::kInt, "0",
        "Master: the cap on cores of applications that set no kiln.cores.max, so that one "
        "careless application does not take the whole cluster; 0 = no cap (Spark's default "
        "too).",
        kMaster, 0, kIntMax),
    Def("kiln.deploy.maxExecutorRetries", T::kInt, "10",
        "Master: executor failures in a row (executors that end before or after reaching their "
        "driver, with none reaching it meanwhile) after which an application with no running "
        "executor is removed; one with running executors gets no new executors until a worker "
        "joins. 0 = no limit; from the 10th failure in a row on (with 0 or a limit above 10), "
        "each launch of the application waits 1 s, doubling up to 60 s, until an executor "
        "registers.",
        kMaster, 0, kIntMax),
    Def("kiln.deploy.recoveryDirectory", T::kString, "",
        "Master: where kiln.deploy.recoveryMode=FILESYSTEM keeps the master's state "
        "(master-state.json); created if missing.",
        kMaster),
    Def("kiln.deploy.recoveryMode", T::kString, "none",
        "Master: filesystem (any case, Spark's FILESYSTEM) keeps the master's workers and "
        "applications in kiln.deploy.recoveryDirectory, so that a restarted master knows them "
        "at once (RECOVERING until they report back); none keeps them in memory only (running "
        "jobs still survive a restart: their drivers register them again).",
        kMaster, 0, 0, "none|filesystem"),
    Def("kiln.deploy.recoveryTimeout", T::kDuration, "60s",
        "Master: after a FILESYSTEM recovery, a known worker that has not registered again "
        "within this long is DEAD.",
        kMaster),
    Def("kiln.deploy.spreadOut", T::kBool, "true",
        "Master: spread an application's executors over as many workers as possible "
        "(false: fill one worker before the next).",
        kMaster),
    Def("kiln.doctor.enabled", T::kBool, "true",
        "At the end of every job, the driver prints the job doctor's findings (skew, spills, "
        "partition counts, stragglers, failures) on stderr; a healthy job prints nothing.",
        kApp),
    Def("kiln.doctor.skewedPartitionFactor", T::kNumber, "5",
        "Job doctor: a task that read more than this many times its stage's median (and more "
        "than kiln.doctor.skewedPartitionThreshold) is skew (Spark AQE's factor).",
        kApp),
    Def("kiln.doctor.skewedPartitionThreshold", T::kBytes, "64m",
        "Job doctor: the least a task must read to be called skewed.", kApp),
    Def("kiln.doctor.stragglerFactor", T::kNumber, "3",
        "Job doctor: an executor whose tasks ran over this many times the other executors' "
        "median, on no more input, is slow.",
        kApp),
    Def("kiln.doctor.tinyTaskDuration", T::kDuration, "20ms",
        "Job doctor: a stage whose median task runs under this, with over 4 tasks per core, has "
        "too many partitions.",
        kApp),
    Def("kiln.driver.cores", T::kInt, "1",
        "Cluster deploy mode: cores the driver holds on the worker that runs it (Spark's "
        "spark.driver.cores); kiln-submit --driver-cores sets it.",
        kApp, 1, 4096),
    Def("kiln.driver.heartbeatInterval", T::kDuration, "5s",
        "How often the driver tells the master it is alive.", kApp),
    Def("kiln.driver.host", T::kString, "",
        "Address executors and workers use to reach the driver; empty = the host's name "
        "as the master sees it (127.0.0.1 for a loopback master).",
        kApp),
    Def("kiln.driver.maxResultSize", T::kByteLimit, "1g",
        "Largest total size of the results one action's tasks send to the driver (collect, "
        "take, count...); past it the job fails, naming this setting. 0 = no limit.",
        kApp),
    Def("kiln.driver.memory", T::kMemoryMb, "1g",
        "Memory of the driver process, at least 450m; in local mode it sizes the memory that "
        "tasks and cached partitions share (see kiln.memory.*) and, with "
        "kiln.driver.memoryOverhead, the process's limit.",
        kApp),
    Def("kiln.driver.memoryOverhead", T::kBytes, "",
        "Memory the driver may use beyond kiln.driver.memory in local mode, where it runs the "
        "tasks: past the sum it kills itself, saying so. Empty = max(384m, 10% of "
        "kiln.driver.memory), as Spark's.",
        kApp),
    Def("kiln.driver.port", T::kInt, "0", "Driver gRPC port; 0 = ephemeral.", kApp, 0, 65535),
    Def("kiln.driver.supervise", T::kBool, "false",
        "Cluster deploy mode: relaunch the driver when it exits non-zero or its worker is lost "
        "(never after kiln-submit --kill), waiting 1s, then 2s, 4s... up to 60s between "
        "relaunches; kiln-submit --supervise sets it.",
        kApp),
    Def("kiln.driver.supervise.maxRelaunches", T::kInt, "5",
        "Cluster deploy mode: relaunches of a supervised driver at most; then it ends FAILED "
        "(or ERROR), saying so. Spark relaunches without a bound.",
        kApp, 0, 1000),
    Def("kiln.dynamicAllocation.cachedExecutorIdleTimeout", T::kDuration, "0",
        "Dynamic allocation: an executor holding cached partitions is given back after this "
        "long without a task; 0 = never (Spark's default, infinity).",
        kApp),
    Def("kiln.dynamicAllocation.enabled", T::kBool, "false",
        "Grow and shrink the application's executors with its workload: more when tasks have "
        "waited kiln.dynamicAllocation.schedulerBacklogTimeout (doubling each round), idle ones "
        "given back after kiln.dynamicAllocation.executorIdleTimeout. Their shuffle files stay "
        "with their workers, so no external shuffle service is needed. Cluster mode only.",
        kApp),
    Def("kiln.dynamicAllocation.executorAllocationRatio", T::kFraction, "1",
        "Share of the executors the waiting and running tasks need that dynamic allocation "
        "asks for (1 = one core per task); above 0.",
        kApp),
    Def("kiln.dynamicAllocation.executorIdleTimeout", T::kDuration, "60s",
        "Dynamic allocation: an executor is given back after this long without a task.", kApp),
    Def("kiln.dynamicAllocation.initialExecutors", T::kInt, "0",
        "Dynamic allocation: executors at registration (at least minExecutors).", kApp, 0, kIntMax),
    Def("kiln.dynamicAllocation.maxExecutors", T::kInt, "0",
        "Dynamic allocation: most executors at once; 0 = no limit (Spark's infinity).", kApp, 0,
        kIntMax),
    Def("kiln.dynamicAllocation.minExecutors", T::kInt, "0",
        "Dynamic allocation: executors kept however idle.", kApp, 0, kIntMax),
    Def("kiln.dynamicAllocation.schedulerBacklogTimeout", T::kDuration, "1s",
        "Dynamic allocation: tasks waiting this long for a core make it ask for more "
        "executors.",
        kApp),
    Def("kiln.dynamicAllocation.sustainedSchedulerBacklogTimeout", T::kDuration, "1s",
        "Dynamic allocation: while tasks still wait, it asks again this often, doubling what "
        "it adds.",
        kApp),
    Def("kiln.eventLog.dir", T::kString, "/tmp/kiln-events",
        "Where the driver writes event logs (made if missing): <dir>/<app-id>.inprogress while the "
        "application runs, renamed to <dir>/<app-id> when it ends. kiln-doctor and kiln-history "
        "read them.",
        kApp),
    Def("kiln.eventLog.enabled", T::kBool, "false",
        "Log every event of the application (jobs, stages, each task with its metrics, "
        "executors, cached blocks) as JSON lines in kiln.eventLog.dir, flushed at the end of "
        "every stage and job.",
        kApp),
    Def("kiln.executor.cores", T::kInt, "0",
        "Cores per executor; 0 = one executor per worker with all of its free cores.", kApp, 0,
        kIntMax),
    Def("kiln.executor.heartbeatInterval", T::kDuration, "10s",
        "How often an executor tells its driver it is alive (on its stream, when it has sent "
        "nothing else); below kiln.network.timeout.",
        kApp),
    Def("kiln.executor.memory", T::kMemoryMb, "1g",
        "Memory per executor, at least 450m: the master reserves it on a worker and it sizes the "
        "memory that tasks and cached partitions share (see kiln.memory.*); the worker kills an "
        "executor whose resident memory passes it plus kiln.executor.memoryOverhead.",
        kApp),
    Def("kiln.executor.memoryOverhead", T::kBytes, "",
        "Memory an executor may use beyond kiln.executor.memory (allocator, threads, buffers "
        "Kiln does not count); the worker kills an executor whose resident memory passes the "
        "sum. Empty = max(384m, 10% of kiln.executor.memory), as Spark's.",
        kApp),
    Def("kiln.files.maxPartitionBytes", T::kBytes, "128m",
        "Largest byte range of an input file read by one text_file partition (a compressed "
        "file is read whole), and largest total of a whole_text_files partition.",
        kApp),
    Def("kiln.history.url", T::kString, "",
        "Master: http://HOST:PORT of kiln-history; the completed applications on the master's "
        "page and /json link there (appuiurl). Empty: no link.",
        kMaster),
    Def("kiln.io.compression.codec", T::kString, "lz4",
        "Compression of shuffle blocks: lz4, zstd or none. After a 64 KiB frame that shrinks "
        "by less than 1/8, a writer stores its next 15 frames uncompressed, then tries again.",
        kApp, 0, 0, "lz4|zstd|none"),
    Def("kiln.local.dir", T::kString, "",
        "Scratch space of local mode (shuffle files); empty = $TMPDIR or /tmp.", kApp),
    Def("kiln.locality.wait", T::kDuration, "3s",
        "How long a task whose input is cached on a busy executor waits for it before it runs "
        "elsewhere and recomputes the input.",
        kApp),
    Def("kiln.master", T::kString, "local[*]",
        "Cluster to run on: kiln://host:port or local, local[N], local[*], local[N,F] (F: "
        "attempts of a task in local mode, 1 otherwise).",
        kApp),
    Def("kiln.master.connectTimeout", T::kDuration, "30s",
        "How long a driver or worker keeps trying to reach the master before it gives up.",
        kWorker | kApp),
    Def("kiln.memory.fraction", T::kFraction, "0.6",
        "Share of an executor's memory beyond 300 MiB that Kiln manages (execution and storage).",
        kApp),
    Def("kiln.memory.storageFraction", T::kFraction, "0.5",
        "Share of the managed memory where cached partitions are safe from tasks: above it, a "
        "task that needs memory evicts them, least recently used first.",
        kApp),
    Def("kiln.network.timeout", T::kDuration, "120s",
        "The driver declares an executor lost after this long without a message from it (a "
        "stopped or hung process, a cut network): its tasks run elsewhere and whatever it "
        "sends later is refused. Above kiln.executor.heartbeatInterval.",
        kApp),
    Def("kiln.rpc.message.maxSize", T::kBytes, "256m",
        "Largest gRPC message (task results travel in one message).", kMaster | kWorker | kApp),
    Def("kiln.scheduler.launchAhead", T::kInt, "2",
        "Tasks per core queued on an executor behind its running ones while the stage's tasks "
        "are short (under 20 ms on average); more for tiny tasks: as many as take about 2 ms "
        "on average, up to 256 (or this value, if higher). 0 = one task per core, as in Spark.",
        kApp, 0, kIntMax),
    Def("kiln.scheduler.maxRegisteredResourcesWaitingTime", T::kDuration, "30s",
        "How long a job waits for its first executor before it fails, unless the master says "
        "other applications hold the resources: then it waits its turn however long, saying "
        "why every 15 s.",
        kApp),
    Def("kiln.shuffle.io.chunkSize", T::kBytes, "1m",
        "Size of the chunks a worker streams shuffle blocks in: a larger block goes in "
        "pieces, smaller blocks of one fetch travel together up to this size.",
        kWorker),
    Def("kiln.shuffle.io.maxRetries", T::kInt, "3",
        "Times a reduce task opens a broken shuffle stream again (a transient error before a "
        "block's first frame arrived) before the read counts as a fetch failure.",
        kApp, 0, kIntMax),
    Def("kiln.shuffle.io.retryWait", T::kDuration, "5s", "Pause before each of those retries.",
        kApp),
    Def("kiln.speculation", T::kBool, "false",
        "Run a copy of a task that is much slower than its stage's finished tasks on another "
        "executor; the first attempt to finish wins and the other is killed (Spark's "
        "speculative execution).",
        kApp),
    Def("kiln.speculation.interval", T::kDuration, "100ms",
        "How often the driver looks for tasks to speculate.", kApp),
    Def("kiln.speculation.minTaskRuntime", T::kDuration, "100ms",
        "A task is never speculated before it has run this long.", kApp),
    Def("kiln.speculation.multiplier", T::kNumber, "1.5",
        "A task is speculated when it has run this many times the median of the stage's "
        "finished tasks.",
        kApp),
    Def("kiln.speculation.quantile", T::kFraction, "0.75",
        "Share of a stage's tasks that must have finished before any of its tasks is "
        "speculated.",
        kApp),
    Def("kiln.ssl.caFile", T::kString, "",
        "PEM file of the certificates that sign peers' certificates (with kiln.ssl.enabled).",
        kMaster | kWorker | kApp),
    Def("kiln.ssl.certFile", T::kString, "",
        "PEM certificate chain of this process: its server's and, with kiln.ssl.clientAuth, its "
        "client certificate. It must name the host peers connect to (a DNS or IP "
        "subjectAltName).",
        kMaster | kWorker | kApp),
    Def("kiln.ssl.clientAuth", T::kBool, "true",
        "With kiln.ssl.enabled, servers require a client certificate signed by kiln.ssl.caFile "
        "(mutual TLS).",
        kMaster | kWorker | kApp),
    Def("kiln.ssl.enabled", T::kBool, "false",
        "TLS on every gRPC connection (master, workers, drivers, executors, shuffle); needs "
        "kiln.ssl.certFile, kiln.ssl.keyFile and kiln.ssl.caFile. Executors use their worker's.",
        kMaster | kWorker | kApp),
    Def("kiln.ssl.keyFile", T::kString, "", "PEM private key of kiln.ssl.certFile.",
        kMaster | kWorker | kApp),
    Def("kiln.stage.maxConsecutiveAttempts", T::kInt, "4",
        "Attempts of a stage whose shuffle reads keep failing (each attempt reruns the map "
        "tasks whose output was lost) before the job aborts, naming the shuffle and the host.",
        kApp, 1, kIntMax),
    Def("kiln.submit.deployMode", T::kString, "client",
        "Where the driver runs: client = in kiln-submit's place, on this machine; cluster = "
        "on a worker the master picks (kiln-submit uploads the binary to the master, prints the "
        "driver id and returns); kiln-submit --deploy-mode sets it.",
        kApp, 0, 0, "client|cluster"),
    Def("kiln.task.maxFailures", T::kInt, "4",
        "Attempts of one task before its job fails, on a cluster (local mode: see kiln.master).",
        kApp, 1, kIntMax),
    Def("kiln.test.failShuffleFetches", T::kBool, "false",
        "Worker, for fault tests only: refuse every shuffle fetch and broadcast chunk fetch "
        "from other workers' executors (UNAVAILABLE), as a failing shuffle server would.",
        kWorker),
    Def("kiln.ui.enabled", T::kBool, "true",
        "Serve the application's UI, REST API (/api/v1) and /metrics from the driver while it "
        "runs, on kiln.ui.port.",
        kApp),
    Def("kiln.ui.port", T::kInt, "4040",
        "Port of the application's UI; when taken, the next free one of the 16 above it (as "
        "Spark's). 0 = an ephemeral port. The driver prints the URL at its start.",
        kApp, 0, 65535),
    Def("kiln.ui.retainedJobs", T::kInt, "1000",
        "Finished jobs the driver remembers for its status (and the doctor); older ones are "
        "forgotten.",
        kApp, 1, kIntMax),
    Def("kiln.ui.retainedStages", T::kInt, "1000",
        "Finished stage attempts the driver remembers for its status; older ones are forgotten.",
        kApp, 1, kIntMax),
    Def("kiln.ui.retainedTasks", T::kInt, "100000",
        "Task attempts per stage the driver remembers; past it the oldest finished ones are "
        "forgotten (the stage's totals still count them).",
        kApp, 1, kIntMax),
    Def("kiln.ui.showConsoleProgress", T::kBool, "true",
        "Show the stage progress bar on stderr when stderr is a terminal.", kApp),
    Def("kiln.worker.binaryCache.maxSize", T::kByteLimit, "2g",
        "Worker: most bytes of application binaries kept in <work-dir>/binaries/; past it the "
        "least recently used go (never one an executor started from in the last minute). 0 = no "
        "limit.",
        kWorker),
    Def("kiln.worker.cleanup.enabled", T::kBool, "true",
        "Worker: delete an application's work dir when the application ends.", kWorker),
    Def("kiln.worker.cleanup.keepFailedAppLogs", T::kBool, "true",
        "Worker: when it deletes the work dir of an application that ended FAILED or KILLED, "
        "keep its executors' stdout and stderr (<work-dir>/<app>/executor-<n>/), as Spark "
        "keeps application dirs.",
        kWorker),
    Def("kiln.worker.heartbeatInterval", T::kDuration, "15s",
        "How often a worker tells the master it is alive.", kWorker),
    Def("kiln.worker.memoryLimits", T::kString, "auto",
        "Worker: how executors are held to kiln.executor.memory + memoryOverhead: auto (a "
        "memory cgroup per executor where the worker may create one, else the RSS watchdog), "
        "cgroup (refuse to start without one), watchdog (the worker samples each executor's "
        "RSS every 50 ms and kills it past the limit).",
        kWorker, 0, 0, "auto|cgroup|watchdog"),
    Def("kiln.worker.standbyExecutors", T::kInt, "2",
        "Worker, with memory cgroups (kiln.worker.memoryLimits): processes it keeps forked and "
        "already inside a cgroup of their own, ready to become executors, so that a launch does "
        "not wait for the kernel to move a new process into its cgroup (up to 16 ms on cgroup "
        "v1). Each is an idle kiln-exec-standby process (about 100 KiB of memory of its own). "
        "0 = fork every executor at its launch.",
        kWorker, 0, 64),
    Def("kiln.worker.timeout", T::kDuration, "60s",
        "The master declares a worker DEAD after this long without a heartbeat.", kMaster),
};

}  // namespace

std::span<const SettingDef> AllSettings() { return kSettings; }

const SettingDef* FindSetting(std::string_view name) {
  for (const SettingDef& def : kSettings) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

}  // namespace kiln
