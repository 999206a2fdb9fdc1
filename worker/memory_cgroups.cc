#include "worker/memory_cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {
namespace {

constexpr std::string_view kExecutorsPrefix = "kiln-executors-";
constexpr std::string_view kWorkerLeafPrefix = "kiln-worker-";

// Mount points escape space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool Contains(const std::vector<std::string_view>& items, std::string_view item) {
  for (std::string_view i : items) {
    if (i == item) return true;
  }
  return false;
}

struct Mount {
  std::string root;   // the part of the hierarchy mounted here
  std::string point;  // where
};

// The cgroup v1 mount holding the memory controller (version 1) or the cgroup2 mount.
std::optional<Mount> FindMount(const std::string& mountinfo, int version) {
  for (std::string_view line : Split(mountinfo, '\n')) {
    std::vector<std::string_view> f = Split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 >= f.size()) continue;
    const std::string_view fstype = f[dash + 1];
    const std::string_view super = f[dash + 3];
    const bool match = version == 1 ? fstype == "cgroup" && Contains(Split(super, ','), "memory")
                                    : fstype == "cgroup2";
    if (match) return Mount{Unescape(f[3]), Unescape(f[4])};
  }
  return std::nullopt;
}

// The directory of `path` (a cgroup path in its hierarchy) under `mount`.
std::string UnderMount(const Mount& mount, std::string_view path) {
  std::string rel(path);
  if (mount.root != "/" && (rel == mount.root || rel.starts_with(mount.root + "/"))) {
    rel = rel.substr(mount.root.size());
  }
  if (!rel.empty() && rel.back() == '/') rel.pop_back();
  return mount.point + rel;
}

absl::Status WriteControl(const std::string& path, std::string_view value) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_WRONLY | O_TRUNC | O_CREAT, "cgroup file"));
  if (write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return ErrnoError("cannot write '", value, "' to ", path);
  }
  return fd.Close(path);
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// "key value" lines (memory.events, memory.oom_control): the value of `key`, or 0.
int64_t KeyedValue(const std::string& path, std::string_view key) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return 0;
  for (std::string_view line : Split(*text, '\n')) {
    std::vector<std::string_view> kv = Split(line, ' ');
    int64_t value = 0;
    if (kv.size() == 2 && kv[0] == key && ParseNumber(kv[1], &value)) return value;
  }
  return 0;
}

int64_t NumberIn(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return 0;
  int64_t value = 0;
  return ParseNumber(StripWhitespace(*text), &value) ? value : 0;
}

bool HasWord(const std::string& path, std::string_view word) {
  absl::StatusOr<std::string> text = ReadFile(path);
  return text.ok() && Contains(Split(StripWhitespace(*text), ' '), word);
}

std::vector<std::string> Subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") out.push_back(std::move(name));
  }
  closedir(d);
  return out;
}

absl::Status RemoveDir(const std::string& dir) {
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot remove cgroup ", dir);
  return absl::OkStatus();
}

// Removes a kiln-executors-<pid> tree (the executors' cgroups, then the parent).
void RemoveTree(const std::string& dir) {
  for (const std::string& child : Subdirs(dir)) {
    if (absl::Status s = RemoveDir(dir + "/" + child); !s.ok())
      spdlog::warn("{}", View(s.message()));
  }
  if (absl::Status s = RemoveDir(dir); !s.ok()) spdlog::warn("{}", View(s.message()));
}

// The cgroups that workers no longer running left in `dir`.
void RemoveStale(const std::string& dir) {
  for (const std::string& name : Subdirs(dir)) {
    std::string_view prefix = name.starts_with(kExecutorsPrefix)    ? kExecutorsPrefix
                              : name.starts_with(kWorkerLeafPrefix) ? kWorkerLeafPrefix
                                                                    : "";
    if (prefix.empty()) continue;
    int64_t pid = 0;
    if (!ParseNumber(std::string_view(name).substr(prefix.size()), &pid) || pid <= 0 ||
        kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) {
      continue;
    }
    spdlog::info("removing the cgroup {}/{} of a worker that is gone", dir, name);
    RemoveTree(dir + "/" + name);
  }
}

// cgroup v2: makes `dir` hand the memory controller to its children. A cgroup with
// processes cannot, so the worker first moves into a leaf of its own.
absl::Status DelegateMemoryV2(const std::string& dir, pid_t pid) {
  const std::string control = dir + "/cgroup.subtree_control";
  if (HasWord(control, "memory") || WriteControl(control, "+memory").ok()) {
    return absl::OkStatus();
  }
  const std::string leaf = StrCat(dir, "/", kWorkerLeafPrefix, pid);
  if (mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError("cannot create the cgroup ", leaf);
  }
  RETURN_IF_ERROR(WriteControl(leaf + "/cgroup.procs", std::to_string(pid)));
  absl::Status enabled = WriteControl(control, "+memory");
  if (!enabled.ok()) {  // other processes share the cgroup: put the worker back
    (void)WriteControl(dir + "/cgroup.procs", std::to_string(pid));
    (void)RemoveDir(leaf);
    return Annotate(enabled,
                    "cannot enable the memory controller for the executors' cgroups "
                    "(run the worker in a cgroup of its own with memory delegated)");
  }
  spdlog::info("moved the worker into the cgroup {} so that {} can delegate memory", leaf, dir);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CgroupLocation> FindMemoryCgroup(const std::string& self_cgroup,
                                                const std::string& mountinfo) {
  std::optional<std::string> v1_path, v2_path;
  for (std::string_view line : Split(self_cgroup, '\n')) {
    const size_t a = line.find(':');
    const size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(a + 1, b - a - 1);
    const std::string path(line.substr(b + 1));
    if (line.substr(0, a) == "0" && controllers.empty()) {
      v2_path = path;
    } else if (Contains(Split(controllers, ','), "memory")) {
      v1_path = path;
    }
  }
  if (v1_path) {
    std::optional<Mount> mount = FindMount(mountinfo, 1);
    if (!mount) {
      return absl::FailedPreconditionError("the cgroup v1 memory controller is not mounted");
    }
    return CgroupLocation{1, UnderMount(*mount, *v1_path)};
  }
  if (v2_path) {
    std::optional<Mount> mount = FindMount(mountinfo, 2);
    if (!mount) return absl::FailedPreconditionError("the cgroup v2 hierarchy is not mounted");
    return CgroupLocation{2, UnderMount(*mount, *v2_path)};
  }
  return absl::FailedPreconditionError("this process is in no memory cgroup");
}

absl::StatusOr<std::unique_ptr<MemoryCgroups>> MemoryCgroups::Open(const CgroupSources& sources) {
  const pid_t pid = sources.pid != 0 ? sources.pid : getpid();
  ASSIGN_OR_RETURN(std::string self, ReadFile(sources.self_cgroup));
  ASSIGN_OR_RETURN(std::string mounts, ReadFile(sources.mountinfo));
  ASSIGN_OR_RETURN(CgroupLocation at, FindMemoryCgroup(self, mounts));
  if (at.version == 2 && !HasWord(at.dir + "/cgroup.controllers", "memory")) {
    return absl::FailedPreconditionError(
        StrCat("the memory controller is not available in the cgroup ", at.dir));
  }
  RemoveStale(at.dir);
  const std::string parent = StrCat(at.dir, "/", kExecutorsPrefix, pid);
  if (at.version == 2) {
    if (absl::Status s = DelegateMemoryV2(at.dir, pid); !s.ok()) {
      return absl::FailedPreconditionError(s.message());
    }
  }
  if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(ErrnoError("cannot create the cgroup ", parent).message());
  }
  if (at.version == 2) {
    if (absl::Status s = WriteControl(parent + "/cgroup.subtree_control", "+memory"); !s.ok()) {
      (void)RemoveDir(parent);
      return absl::FailedPreconditionError(s.message());
    }
  }
  return std::unique_ptr<MemoryCgroups>(new MemoryCgroups(at.version, parent));
}

MemoryCgroups::~MemoryCgroups() { RemoveTree(parent_); }

absl::StatusOr<std::string> MemoryCgroups::Create(const std::string& name,
                                                  int64_t limit_bytes) const {
  if (!IsSafePathComponent(name)) {
    return absl::InvalidArgumentError(StrCat("invalid cgroup name '", name, "'"));
  }
  const std::string dir = parent_ + "/" + name;
  if (Exists(dir)) RETURN_IF_ERROR(RemoveDir(dir));  // fresh limits and counters
  if (mkdir(dir.c_str(), 0755) != 0) return ErrnoError("cannot create the cgroup ", dir);
  if (limit_bytes > 0) {
    if (absl::Status set = SetLimit(name, limit_bytes); !set.ok()) {
      (void)RemoveDir(dir);
      return set;
    }
  }
  return dir + "/cgroup.procs";
}

absl::Status MemoryCgroups::SetLimit(const std::string& name, int64_t limit_bytes) const {
  const std::string dir = parent_ + "/" + name;
  const std::string limit = std::to_string(limit_bytes);
  if (version_ == 1) {
    RETURN_IF_ERROR(WriteControl(dir + "/memory.limit_in_bytes", limit));
    // Where the kernel accounts swap, the limit covers it too: no swapping past it.
    if (Exists(dir + "/memory.memsw.limit_in_bytes")) {
      RETURN_IF_ERROR(WriteControl(dir + "/memory.memsw.limit_in_bytes", limit));
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(WriteControl(dir + "/memory.max", limit));
  if (Exists(dir + "/memory.swap.max"))
    RETURN_IF_ERROR(WriteControl(dir + "/memory.swap.max", "0"));
  // The whole executor goes at once (its helpers too), never a part of it.
  if (Exists(dir + "/memory.oom.group")) {
    RETURN_IF_ERROR(WriteControl(dir + "/memory.oom.group", "1"));
  }
  return absl::OkStatus();
}

CgroupUsage MemoryCgroups::Usage(const std::string& name) const {
  const std::string dir = parent_ + "/" + name;
  if (version_ == 1) {
    return {.peak_bytes = NumberIn(dir + "/memory.max_usage_in_bytes"),
            .oom_kills = KeyedValue(dir + "/memory.oom_control", "oom_kill")};
  }
  return {.peak_bytes = NumberIn(dir + "/memory.peak"),
          .oom_kills = KeyedValue(dir + "/memory.events", "oom_kill")};
}

absl::Status MemoryCgroups::Remove(const std::string& name) const {
  return RemoveDir(parent_ + "/" + name);
}

}  // namespace kiln::worker
