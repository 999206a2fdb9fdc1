#include "common/settings.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/escaping.h"
#include "common/check.h"
#include "common/cli.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"

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
    Def("kiln.cores.max", T::kInt, "0",
        "Cap on an application's total executor cores across the cluster; 0 = no cap.", kApp, 0,
        kIntMax),
    Def("kiln.default.parallelism", T::kInt, "0",
        "Partitions of parallelize and of wide operations when none is given; 0 = total "
        "executor cores (at least 2).",
        kApp, 0, kIntMax),
    Def("kiln.deploy.maxExecutorRetries", T::kInt, "10",
        "Master: executor failures in a row (executors that end before or after reaching their "
        "driver, with none reaching it meanwhile) after which an application with no running "
        "executor is removed; one with running executors gets no new executors until a worker "
        "joins. 0 = no limit; from the 10th failure in a row on (with 0 or a limit above 10), "
        "each launch of the application waits 1 s, doubling up to 60 s, until an executor "
        "registers.",
        kMaster, 0, kIntMax),
    Def("kiln.deploy.spreadOut", T::kBool, "true",
        "Master: spread an application's executors over as many workers as possible "
        "(false: fill one worker before the next).",
        kMaster),
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
        "Largest byte range of an input file read by one text_file partition.", kApp),
    Def("kiln.io.compression.codec", T::kString, "lz4",
        "Compression of shuffle blocks: lz4, zstd or none.", kApp, 0, 0, "lz4|zstd|none"),
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
        "are short (under 20 ms on average); 0 = one task per core, as in Spark.",
        kApp, 0, kIntMax),
    Def("kiln.scheduler.maxRegisteredResourcesWaitingTime", T::kDuration, "30s",
        "How long a job waits for its first executor before it fails.", kApp),
    Def("kiln.shuffle.io.chunkSize", T::kBytes, "1m",
        "Size of the chunks a worker streams shuffle blocks in.", kWorker),
    Def("kiln.shuffle.io.maxRetries", T::kInt, "3",
        "Times a reduce task opens a broken shuffle stream again (a transient error before a "
        "block's first frame arrived) before the read counts as a fetch failure.",
        kApp, 0, kIntMax),
    Def("kiln.shuffle.io.retryWait", T::kDuration, "5s", "Pause before each of those retries.",
        kApp),
    Def("kiln.stage.maxConsecutiveAttempts", T::kInt, "4",
        "Attempts of a stage whose shuffle reads keep failing (each attempt reruns the map "
        "tasks whose output was lost) before the job aborts, naming the shuffle and the host.",
        kApp, 1, kIntMax),
    Def("kiln.task.maxFailures", T::kInt, "4",
        "Attempts of one task before its job fails, on a cluster (local mode: see kiln.master).",
        kApp, 1, kIntMax),
    Def("kiln.test.failShuffleFetches", T::kBool, "false",
        "Worker, for fault tests only: refuse every shuffle fetch from other workers' "
        "executors (UNAVAILABLE), as a failing shuffle server would.",
        kWorker),
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
    Def("kiln.worker.timeout", T::kDuration, "60s",
        "The master declares a worker DEAD after this long without a heartbeat.", kMaster),
};

// "a, b or c" ("and" when `last` says so).
std::string ListWords(const std::vector<std::string_view>& words, std::string_view last) {
  std::string text;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) StrAppend(&text, i + 1 == words.size() ? last : ", ");
    StrAppend(&text, words[i]);
  }
  return text;
}

// "lz4, zstd or none".
std::string ChoicesText(const SettingDef& def) {
  return ListWords(Split(def.choices, '|'), " or ");
}

bool IsChoice(const SettingDef& def, std::string_view value) {
  const std::string lower = ToLower(value);
  for (std::string_view c : Split(def.choices, '|')) {
    if (c == lower) return true;
  }
  return false;
}

absl::Status ParseAs(const SettingDef& def, std::string_view value) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("setting ", def.name, "='", value, "': ", why));
  };
  switch (def.type) {
    case T::kString:
      if (def.choices.empty() || IsChoice(def, value)) return absl::OkStatus();
      return bad(StrCat("expected one of ", ChoicesText(def)));
    case T::kInt: {
      int64_t v;
      if (!ParseNumber(value, &v) || v < def.min || v > def.max) {
        return bad(StrCat("expected a whole number from ", def.min, " to ", def.max));
      }
      return absl::OkStatus();
    }
    case T::kBool: {
      bool v;
      if (!ParseBool(value, &v)) return bad("expected true or false (also yes/no, 1/0)");
      return absl::OkStatus();
    }
    case T::kFraction: {
      double v;
      if (!ParseNumber(value, &v) || !(v >= 0 && v <= 1))
        return bad("expected a number from 0 to 1");
      return absl::OkStatus();
    }
    case T::kBytes: {
      auto v = ParseBytes(value);
      if (!v.ok()) return bad(View(v.status().message()));
      if (*v <= 0) return bad("must be greater than 0");
      return absl::OkStatus();
    }
    case T::kByteLimit: {
      auto v = ParseBytes(value);
      if (!v.ok()) return bad(View(v.status().message()));
      if (*v < 0) return bad("must be 0 (no limit) or more");
      return absl::OkStatus();
    }
    case T::kMemoryMb: {
      auto v = ParseProcessMemoryMb(value);
      if (!v.ok()) return bad(View(v.status().message()));
      return absl::OkStatus();
    }
    case T::kDuration: {
      auto v = ParseDuration(value);
      if (!v.ok()) return bad(View(v.status().message()));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseProcessMemoryMb(std::string_view text) {
  absl::StatusOr<int64_t> mb = ParseMemoryMb(text);
  if (!mb.ok() && ParseBytes(text).ok()) mb = 0;  // a size, below 1 MiB
  if (!mb.ok()) return mb.status();
  if (*mb >= kMinProcessMemoryMb) return *mb;
  return absl::InvalidArgumentError(
      StrCat("below the minimum of ", kMinProcessMemoryMb, "m (Kiln reserves ", kReservedMemoryMb,
             " MiB of every driver and executor and needs 1.5 times that); give ",
             kMinProcessMemoryMb, "m or more"));
}

int64_t MemoryOverheadMb(const Config& conf, std::string_view role) {
  const std::string overhead = StrCat("kiln.", role, ".memoryOverhead");
  if (conf.IsSet(overhead)) return std::max<int64_t>(1, conf.GetBytes(overhead) >> 20);
  return std::max<int64_t>(384, conf.GetMemoryMb(StrCat("kiln.", role, ".memory")) / 10);
}

std::span<const SettingDef> AllSettings() { return kSettings; }

const SettingDef* FindSetting(std::string_view name) {
  for (const SettingDef& def : kSettings) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

absl::Status ValidateSetting(std::string_view name, std::string_view value) {
  const SettingDef* def = FindSetting(name);
  if (def == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("unknown setting '", name, "' (see the settings table in README.md)"));
  }
  return ParseAs(*def, value);
}

namespace {

std::string_view TypeName(const SettingDef& def) {
  switch (def.type) {
    case T::kString:
      return "string";
    case T::kInt:
      return "int";
    case T::kBool:
      return "bool";
    case T::kBytes:
      return "size";
    case T::kByteLimit:
      return "size (0 = no limit)";
    case T::kDuration:
      return "duration";
    case T::kFraction:
      return "fraction (0 to 1)";
    case T::kMemoryMb:
      return "memory (at least 450m)";
  }
  return "";
}

std::string Readers(unsigned readers) {
  std::vector<std::string_view> names;
  if (readers & kMaster) names.push_back("kiln-master");
  if (readers & kWorker) names.push_back("kiln-worker");
  if (readers & kApp) names.push_back("the driver");
  return ListWords(names, " and ");
}

}  // namespace

std::string SettingsTableMarkdown() {
  std::string out = "| Setting | Read by | Type | Default | Meaning |\n|---|---|---|---|---|\n";
  for (const SettingDef& def : kSettings) {
    std::string type(TypeName(def));
    if (def.type == T::kInt) StrAppend(&type, ", ", def.min, "–", def.max);
    if (!def.choices.empty()) type = "one of " + ChoicesText(def);
    StrAppend(&out, "| `", def.name, "` | ", Readers(def.readers), " | ", type, " | ",
              def.default_value.empty() ? "(empty)" : StrCat("`", def.default_value, "`"), " | ",
              def.doc, " |\n");
  }
  return out;
}

std::vector<std::string> UnreadSettingWarnings(const std::vector<std::string>& conf_flags,
                                               SettingReader program,
                                               std::string_view program_name) {
  std::vector<std::string> warnings;
  for (std::string_view flag : conf_flags) {
    const std::string_view key = StripWhitespace(flag.substr(0, flag.find('=')));
    const SettingDef* def = FindSetting(key);
    if (def == nullptr || (def->readers & program) != 0) continue;
    warnings.push_back(StrCat("setting ", key, " is read by ", Readers(def->readers),
                              " only: ignored by ", program_name));
  }
  return warnings;
}

absl::Status Config::Set(std::string_view key, std::string_view value) {
  std::string_view k = StripWhitespace(key);
  std::string_view v = StripWhitespace(value);
  RETURN_IF_ERROR(ValidateSetting(k, v));
  const bool choice = !FindSetting(k)->choices.empty();
  values_[std::string(k)] = choice ? ToLower(v) : std::string(v);
  return absl::OkStatus();
}

absl::Status Config::SetFromFlag(std::string_view key_equals_value) {
  size_t eq = key_equals_value.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return BadFlagValue("--conf", key_equals_value, "expected key=value");
  }
  return Set(key_equals_value.substr(0, eq), key_equals_value.substr(eq + 1));
}

absl::Status Config::LoadPropertiesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return BadFlagValue("--properties-file", path,
                        StrCat("cannot be read: ", std::strerror(errno)));
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view l = StripWhitespace(line);
    if (l.empty() || l[0] == '#' || l[0] == '!') continue;
    size_t sep = l.find_first_of("= \t");
    if (sep == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", number, ": expected 'key value' or 'key=value'"));
    }
    std::string_view value = StripWhitespace(l.substr(sep + 1));
    if (!value.empty() && value[0] == '=') value = StripWhitespace(value.substr(1));
    RETURN_IF_ERROR(Annotate(Set(l.substr(0, sep), value), StrCat(path, ":", number)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> Config::Load(const std::vector<std::string>& conf_flags,
                                    const std::string& properties_file, char** environ) {
  Config config;
  constexpr std::string_view kPrefix = "KILN_CONF_";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with(kPrefix)) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(entry.substr(kPrefix.size(), eq - kPrefix.size()));
    for (char& c : key) c = c == '_' ? '.' : c;
    // Setting names use camelCase after dots, never underscores, so the mapping is
    // reversible.
    RETURN_IF_ERROR(Annotate(config.Set(key, entry.substr(eq + 1)),
                             StrCat("environment ", entry.substr(0, eq))));
  }
  if (!properties_file.empty()) RETURN_IF_ERROR(config.LoadPropertiesFile(properties_file));
  for (const std::string& flag : conf_flags) RETURN_IF_ERROR(config.SetFromFlag(flag));
  RETURN_IF_ERROR(config.CheckConsistency());
  return config;
}

absl::Status Config::CheckConsistency() const {
  struct Pair {
    std::string_view timeout;
    std::string_view interval;
    // Both read by one program (the driver ships its settings to its executors): the
    // defaults count. Otherwise only values given together are compared, since the
    // other program may have its own.
    bool one_program;
  };
  constexpr Pair kPairs[] = {
      {"kiln.network.timeout", "kiln.executor.heartbeatInterval", true},
      {"kiln.worker.timeout", "kiln.worker.heartbeatInterval", false},
      {"kiln.app.timeout", "kiln.driver.heartbeatInterval", false},
  };
  for (const Pair& p : kPairs) {
    const bool compare = p.one_program ? IsSet(p.timeout) || IsSet(p.interval)
                                       : IsSet(p.timeout) && IsSet(p.interval);
    if (!compare || GetDuration(p.timeout) > GetDuration(p.interval)) continue;
    return absl::InvalidArgumentError(
        StrCat("setting ", p.timeout, "=", Raw(p.timeout, T::kDuration), " must be greater than ",
               p.interval, "=", Raw(p.interval, T::kDuration),
               " (a peer would be declared lost between two heartbeats)"));
  }
  return absl::OkStatus();
}

bool Config::IsSet(std::string_view key) const { return values_.find(key) != values_.end(); }

std::string_view Config::Raw(std::string_view key, SettingType type) const {
  const SettingDef* def = FindSetting(key);
  KILN_CHECK(def != nullptr, "setting not in the table");
  KILN_CHECK(def->type == type, "setting read with the wrong type");
  auto it = values_.find(key);
  return it == values_.end() ? def->default_value : std::string_view(it->second);
}

std::string Config::GetString(std::string_view key) const {
  return std::string(Raw(key, T::kString));
}

int64_t Config::GetInt(std::string_view key) const {
  int64_t v = 0;
  KILN_CHECK(ParseNumber(Raw(key, T::kInt), &v));
  return v;
}

bool Config::GetBool(std::string_view key) const {
  bool v = false;
  KILN_CHECK(ParseBool(Raw(key, T::kBool), &v));
  return v;
}

double Config::GetDouble(std::string_view key) const {
  double v = 0;
  KILN_CHECK(ParseNumber(Raw(key, T::kFraction), &v));
  return v;
}

int64_t Config::GetBytes(std::string_view key) const {
  return ParseBytes(Raw(key, T::kBytes)).value();
}

int64_t Config::GetByteLimit(std::string_view key) const {
  return ParseBytes(Raw(key, T::kByteLimit)).value();
}

int64_t Config::GetMemoryMb(std::string_view key) const {
  return ParseMemoryMb(Raw(key, T::kMemoryMb)).value();
}

std::chrono::milliseconds Config::GetDuration(std::string_view key) const {
  return ParseDuration(Raw(key, T::kDuration)).value();
}

std::string Config::Serialize() const {
  std::string out;
  for (const auto& [k, v] : values_) StrAppend(&out, k, "=", absl::CEscape(v), "\n");
  return out;
}

absl::StatusOr<Config> Config::Deserialize(std::string_view text) {
  Config config;
  for (std::string_view line : Split(text, '\n', true)) {
    const size_t eq = line.find('=');
    std::string value;
    const std::string escaped(eq == std::string_view::npos ? "" : line.substr(eq + 1));
    if (eq == std::string_view::npos || !absl::CUnescape(escaped, &value)) {
      return absl::InvalidArgumentError(StrCat("malformed serialized setting '", line, "'"));
    }
    RETURN_IF_ERROR(config.Set(line.substr(0, eq), value));
  }
  return config;
}

}  // namespace kiln
