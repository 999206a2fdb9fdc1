#include "common/ready_file.h"

#include <unistd.h>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {

absl::Status WriteReadyFile(const std::string& path, const std::map<std::string, int>& values) {
  std::string text;
  for (const auto& [k, v] : values) StrAppend(&text, k, "=", v, "\n");
  return WriteFileAtomic(path, text);
}

ReadyFileRemover::~ReadyFileRemover() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

absl::StatusOr<std::map<std::string, int>> ReadReadyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::map<std::string, int> out;
  for (std::string_view line : Split(text, '\n', true)) {
    size_t eq = line.find('=');
    int v = 0;
    if (eq == std::string_view::npos || !ParseNumber(line.substr(eq + 1), &v)) {
      return absl::DataLossError(StrCat(path, ": bad line '", line, "'"));
    }
    out[std::string(line.substr(0, eq))] = v;
  }
  return out;
}

}  // namespace kiln
