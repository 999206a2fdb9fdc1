#pragma once
// AttemptFile: one task attempt's output file for the save_as_* actions, written under
// dir/_temporary/ with a name of its own (part-NNNNN-attempt-T-A plus an extension). The
// task's result is that name; the driver renames the file of the one attempt it accepts
// to dir/part-NNNNN<extension> when the job succeeds (the commit: see
// JobRunner::CommitOutput), so a retried, late or zombie attempt never replaces a part.
// An attempt file not closed (the task failed or was killed) is removed. Not
// thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/files.h"
#include "runtime/operator.h"

namespace kiln::runtime {

// The name of partition `partition`'s file in an output dir: "part-00003".
std::string PartFileName(int partition);

class AttemptFile {
 public:
  AttemptFile() = default;
  ~AttemptFile();
  AttemptFile(const AttemptFile&) = delete;
  AttemptFile& operator=(const AttemptFile&) = delete;

  absl::Status Open(const std::string& dir, const TaskContext& ctx, std::string_view extension);
  absl::Status Write(std::string_view bytes);
  // The file is complete: closes it and makes `name()` the task's result.
  absl::Status Close(TaskContext& ctx);

  const std::string& path() const { return path_; }
  int64_t bytes() const { return bytes_; }

  // A partition's result: the name of its attempt's file in _temporary/ (one plain name).
  static bool DecodeResult(std::string_view result, std::string_view* attempt_file);

 private:
  std::string path_;
  ScopedFd fd_;
  int64_t bytes_ = 0;
};

}  // namespace kiln::runtime
