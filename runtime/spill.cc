#include "runtime/spill.h"

#include <fcntl.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "runtime/combine_spill.h"
#include "runtime/running_tasks.h"
#include "runtime/spill_join.h"
#include "runtime/spill_merge.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {

SpillSpace::SpillSpace(std::string dir, int64_t task_id, Compression compression)
    : dir_(std::move(dir)), task_id_(task_id), compression_(compression) {}

SpillSpace::~SpillSpace() {
  for (const std::string& f : files_) std::remove(f.c_str());
}

absl::StatusOr<std::string> SpillSpace::NewPath() {
  if (dir_.empty()) return absl::FailedPreconditionError("this executor has no spill directory");
  std::string path = StrCat(dir_, "/spill-", task_id_, "-", next_++);
  files_.push_back(path);
  return path;
}

void SpillSpace::Remove(const std::string& path) {
  std::remove(path.c_str());
  std::erase(files_, path);
}

SpillWriter::SpillWriter(std::string path, Compression compression)
    : path_(std::move(path)), encoder_(compression) {
  absl::StatusOr<ScopedFd> fd = OpenFile(path_, O_WRONLY | O_CREAT | O_EXCL, "spill file");
  if (fd.ok()) {
    fd_ = *std::move(fd);
  } else {
    status_ = fd.status();
  }
}

absl::Status SpillWriter::Flush() {
  if (!status_.ok()) return status_;
  if (raw_.empty()) return absl::OkStatus();
  framed_.clear();
  encoder_.Append(raw_, &framed_);
  raw_.clear();
  status_ = WriteAll(fd_.get(), framed_, path_);
  bytes_ += static_cast<int64_t>(framed_.size());
  return status_;
}

absl::StatusOr<int64_t> SpillWriter::Finish() {
  RETURN_IF_ERROR(Flush());
  RETURN_IF_ERROR(fd_.Close(path_));
  return bytes_;
}

SpillReader::SpillReader(std::string path) : path_(std::move(path)), decoder_(path_) {}

absl::Status SpillReader::Open() {
  ASSIGN_OR_RETURN(fd_, OpenFile(path_, O_RDONLY, "spill file"));
  return absl::OkStatus();
}

absl::StatusOr<bool> SpillReader::Next(std::string_view* frame) {
  char header[kFrameHeaderBytes];
  ASSIGN_OR_RETURN(size_t n, ReadAt(fd_.get(), offset_, header, sizeof(header), path_));
  if (n == 0) return false;
  if (n < sizeof(header)) return absl::DataLossError(StrCat("truncated spill file ", path_));
  uint32_t stored_len = 0;
  std::memcpy(&stored_len, header + 5, 4);  // after the codec byte and raw_len
  stored_.resize(kFrameHeaderBytes + stored_len);
  std::memcpy(stored_.data(), header, sizeof(header));
  RETURN_IF_ERROR(PreadFully(fd_.get(), offset_ + sizeof(header), stored_.data() + sizeof(header),
                             stored_len, path_));
  offset_ += stored_.size();
  bool got = false;
  RETURN_IF_ERROR(decoder_.Feed(stored_, [&](std::string_view raw) {
    frame_.assign(raw.data(), raw.size());
    got = true;
    return absl::OkStatus();
  }));
  if (!got) return absl::DataLossError(StrCat("corrupt spill file ", path_));
  *frame = frame_;
  return true;
}

absl::StatusOr<std::string> WriteSpill(TaskContext& ctx, int64_t memory_bytes,
                                       absl::FunctionRef<absl::Status(SpillWriter&)> write) {
  if (ctx.spills == nullptr) return absl::FailedPreconditionError("this task cannot spill");
  auto failed = [&](const absl::Status& s) {
    return absl::Status(s.code(), StrCat("task ", ctx.task_id, " cannot spill to ",
                                         ctx.spills->dir(), ": ", View(s.message())));
  };
  absl::StatusOr<std::string> path = ctx.spills->NewPath();
  if (!path.ok()) return failed(path.status());
  SpillWriter writer(*path, ctx.spills->compression());
  absl::Status s = writer.status();
  if (s.ok()) s = write(writer);
  absl::StatusOr<int64_t> bytes = s.ok() ? writer.Finish() : absl::StatusOr<int64_t>(s);
  if (!bytes.ok()) {
    ctx.spills->Remove(*path);
    return failed(bytes.status());
  }
  ctx.metrics.spill_count += 1;
  ctx.metrics.memory_bytes_spilled += memory_bytes;
  ctx.metrics.disk_bytes_spilled += *bytes;
  if (ctx.running != nullptr) {
    TaskMetrics now = ctx.metrics;
    if (ctx.memory != nullptr) now.peak_execution_memory = ctx.memory->peak();
    ctx.running->Update(ctx.task_id, now);
  }
  return *std::move(path);
}

absl::Status GroupTooLarge(const char* op, int partition, uint64_t hash, size_t values,
                           int64_t bytes, int64_t held) {
  return absl::ResourceExhaustedError(
      absl::StrCat(op, ": the key with hash ", absl::Hex(hash, absl::kZeroPad16), " in partition ",
                   partition, " has ", values, " values (", FormatBytes(bytes),
                   " so far), more than its task can hold in execution memory (", FormatBytes(held),
                   "); use more partitions, reduce_by_key or combine_by_key instead of ", op,
                   ", or salt the key"));
}

absl::Status NarrowRuns(
    TaskContext& ctx, std::vector<std::string>& runs,
    absl::FunctionRef<absl::Status(const std::vector<std::string>&, SpillWriter&)> merge) {
  while (runs.size() > kMaxMergeWidth) {
    const std::vector<std::string> oldest(runs.begin(), runs.begin() + kMaxMergeWidth);
    absl::StatusOr<std::string> merged =
        WriteSpill(ctx, 0, [&](SpillWriter& out) { return merge(oldest, out); });
    if (!merged.ok()) return merged.status();
    for (const std::string& run : oldest) ctx.spills->Remove(run);
    runs.erase(runs.begin(), runs.begin() + kMaxMergeWidth);
    runs.insert(runs.begin(), *std::move(merged));
  }
  return absl::OkStatus();
}

absl::Status JoinBucketTooLarge(int partition, int64_t bytes, int64_t held) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "join: one bucket of partition ", partition, "'s build side holds ", FormatBytes(bytes),
      " so far, more than its task can hold in execution memory (", FormatBytes(held),
      "): some key has too many values; use more partitions, or salt the key"));
}

}  // namespace kiln::runtime
