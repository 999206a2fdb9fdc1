#include "common/process_memory.h"

#include <unistd.h>

#include <cstdio>

#include "common/files.h"
#include "common/strings.h"

namespace kiln {

absl::StatusOr<int64_t> ResidentBytes(pid_t pid) {
  const std::string path = StrCat("/proc/", pid, "/statm");
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  long long size_pages = 0;
  long long resident_pages = 0;
  if (std::sscanf(text->c_str(), "%lld %lld", &size_pages, &resident_pages) != 2) {
    return absl::InternalError(StrCat("cannot parse ", path));
  }
  return static_cast<int64_t>(resident_pages) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace kiln
