#include "tests/support/processes.h"

#include <dirent.h>

#include <string_view>

#include "common/files.h"
#include "common/strings.h"

namespace kiln::test {
namespace {

// The directory an executor's argv names with --app-dir, or "".
std::string AppDirOf(const std::vector<std::string>& args) {
  constexpr std::string_view kFlag = "--app-dir";
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == kFlag && i + 1 < args.size()) return args[i + 1];
    if (a.starts_with(kFlag) && a.size() > kFlag.size() && a[kFlag.size()] == '=') {
      return std::string(a.substr(kFlag.size() + 1));
    }
  }
  return "";
}

bool IsUnder(std::string_view path, std::string_view dir) {
  while (dir.size() > 1 && dir.ends_with('/')) dir.remove_suffix(1);
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

}  // namespace

std::vector<std::string> ProcessArgs(pid_t pid) {
  absl::StatusOr<std::string> raw = ReadFile(StrCat("/proc/", pid, "/cmdline"));
  std::vector<std::string> args;
  if (!raw.ok() || raw->empty()) return args;
  std::string_view text = *raw;
  if (text.ends_with('\0')) text.remove_suffix(1);
  for (std::string_view arg : Split(text, '\0')) args.emplace_back(arg);
  return args;
}

std::vector<pid_t> FindExecutorPids(const std::string& dir) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!ParseNumber(std::string_view(entry->d_name), &pid) || pid <= 0) continue;
    std::vector<std::string> args = ProcessArgs(pid);
    bool executor = false;
    for (const std::string& a : args) executor = executor || a == "--kiln-executor";
    if (executor && IsUnder(AppDirOf(args), dir)) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

bool ProcessAlive(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile(StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return false;
  // "pid (comm) S ...": the state follows the last ')'.
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return false;
  char state = (*stat)[paren + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace kiln::test
