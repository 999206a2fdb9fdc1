#pragma once
// Ready files: a daemon started with --ready-file F writes its bound ports to F once it
// listens, as "name=value" lines (grpc_port=..., ui_port=..., pid=...), atomically
// (written aside and renamed), so a reader that sees the file sees all of it.

#include <map>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace kiln {

absl::Status WriteReadyFile(const std::string& path, const std::map<std::string, int>& values);

// Removes the ready file at `path` ("" = none) when destroyed, as the daemon exits, so
// that nobody takes a stopped daemon's file for a live one (a daemon killed with
// SIGKILL leaves its file; its pid line tells).
class ReadyFileRemover {
 public:
  explicit ReadyFileRemover(std::string path) : path_(std::move(path)) {}
  ~ReadyFileRemover();
  ReadyFileRemover(const ReadyFileRemover&) = delete;
  ReadyFileRemover& operator=(const ReadyFileRemover&) = delete;

 private:
  std::string path_;
};
absl::StatusOr<std::map<std::string, int>> ReadReadyFile(const std::string& path);

}  // namespace kiln
