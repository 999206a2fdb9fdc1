#pragma once
// Ready files: a daemon started with --ready-file F writes its bound ports to F once it
// listens, as "name=value" lines (grpc_port=..., ui_port=..., pid=...), atomically
// (written aside and renamed), so a reader that sees the file sees all of it.

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace kiln {

absl::Status WriteReadyFile(const std::string& path, const std::map<std::string, int>& values);
absl::StatusOr<std::map<std::string, int>> ReadReadyFile(const std::string& path);

}  // namespace kiln
