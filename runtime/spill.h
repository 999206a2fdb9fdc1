#pragma once
// Spill files: sorted runs of records that an operator writes out when its task cannot
// get more execution memory, read back by a k-way merge (spill_merge.h). A run is one
// file of frames in the shuffle's format (block_format.h: checksummed, compressed by
// kiln.io.compression.codec) holding encoded records, written and read sequentially.
//
// SpillSpace names a task's spill files in the executor's spill directory and removes
// every one of them when the task ends, whether it succeeded, failed or threw. Not
// thread-safe: one per task.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/files.h"
#include "runtime/block_format.h"

namespace kiln::runtime {

class SpillSpace {
 public:
  // `dir` must exist ("" = spilling is not possible: NewPath fails).
  SpillSpace(std::string dir, int64_t task_id, Compression compression);
  ~SpillSpace();  // removes the task's files
  SpillSpace(const SpillSpace&) = delete;
  SpillSpace& operator=(const SpillSpace&) = delete;

  // A new file name for this task: "<dir>/spill-<task>-<n>".
  absl::StatusOr<std::string> NewPath();
  // Removes one file now (a run that has been merged).
  void Remove(const std::string& path);

  Compression compression() const { return compression_; }
  const std::string& dir() const { return dir_; }

 private:
  const std::string dir_;
  const int64_t task_id_;
  const Compression compression_;
  std::vector<std::string> files_;
  int next_ = 0;
};

// Writes one run. Records are encoded into buffer(); Appended() frames them every
// kDefaultFrameBytes. Not thread-safe.
class SpillWriter {
 public:
  SpillWriter(std::string path, Compression compression);
  // Whether the file could be created (the error names it).
  const absl::Status& status() const { return status_; }

  std::string* buffer() { return &raw_; }
  absl::Status Appended() {
    return raw_.size() >= static_cast<size_t>(kDefaultFrameBytes) ? Flush() : absl::OkStatus();
  }
  // Flushes and closes; the file's size in bytes.
  absl::StatusOr<int64_t> Finish();

  const std::string& path() const { return path_; }

 private:
  absl::Status Flush();

  std::string path_;
  FrameEncoder encoder_;
  ScopedFd fd_;
  absl::Status status_;
  std::string raw_;
  std::string framed_;
  int64_t bytes_ = 0;
};

// Reads a run back frame by frame. Not thread-safe.
class SpillReader {
 public:
  explicit SpillReader(std::string path);
  absl::Status Open();
  // The next frame's records, or false at the end of the file. The view stays valid
  // until the next call.
  absl::StatusOr<bool> Next(std::string_view* frame);

 private:
  std::string path_;
  ScopedFd fd_;
  FrameDecoder decoder_;
  uint64_t offset_ = 0;
  std::string stored_;  // one stored frame, header included
  std::string frame_;   // its records
};

}  // namespace kiln::runtime
