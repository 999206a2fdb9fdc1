#include "runtime/shuffle_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/check.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/shuffle_files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {
namespace internal {

// A file written sequentially through a caller-owned buffer: small pieces are gathered,
// large ones go straight to ::write.
class BufferedFile {
 public:
  BufferedFile(std::string* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {
    buffer_->clear();
  }

  absl::Status Open(const std::string& path) {
    path_ = path;
    ASSIGN_OR_RETURN(fd_, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, "shuffle file"));
    return absl::OkStatus();
  }

  absl::Status Append(std::string_view data) {
    offset_ += data.size();
    if (buffer_->size() + data.size() <= capacity_) {
      buffer_->append(data.data(), data.size());
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(Flush());
    if (data.size() >= capacity_) return WriteAll(fd_.get(), data, path_);
    buffer_->append(data.data(), data.size());
    return absl::OkStatus();
  }

  absl::Status Close() {
    RETURN_IF_ERROR(Flush());
    return fd_.Close(path_);
  }

  uint64_t offset() const { return offset_; }

 private:
  absl::Status Flush() {
    absl::Status status = WriteAll(fd_.get(), *buffer_, path_);
    buffer_->clear();
    return status;
  }

  std::string* buffer_;
  size_t capacity_;
  std::string path_;
  ScopedFd fd_;
  uint64_t offset_ = 0;
};

}  // namespace internal

namespace {

using internal::BufferedFile;

// Copies [offset, offset + size) of the open file `fd` to `out` through `scratch`.
absl::Status CopyRange(int fd, const std::string& path, uint64_t offset, uint64_t size,
                       std::string* scratch, BufferedFile* out) {
  while (size > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, scratch->size()));
    RETURN_IF_ERROR(PreadFully(fd, offset, scratch->data(), n, path));
    RETURN_IF_ERROR(out->Append(std::string_view(scratch->data(), n)));
    offset += n;
    size -= n;
  }
  return absl::OkStatus();
}

// Sizes of the chunks that hold a partition's frames in memory.
constexpr size_t kMinChunkBytes = 16 << 10;
constexpr size_t kMaxChunkBytes = 1 << 20;

}  // namespace

ShuffleWriter::ShuffleWriter(ShuffleWriterOptions options)
    : options_(std::move(options)),
      encoder_(options_.compression),
      partitions_(static_cast<size_t>(std::max(options_.num_partitions, 0))) {
  KILN_CHECK(options_.num_partitions > 0, "a shuffle needs at least one partition");
  options_.frame_bytes = std::max<int64_t>(options_.frame_bytes, 1);
  options_.io_buffer_bytes = std::max<int64_t>(options_.io_buffer_bytes, 4096);
  limit_ = options_.memory.cover ? 0 : options_.spill_bytes;
}

ShuffleWriter::~ShuffleWriter() {
  if (!finished_) Abort();
}

std::string ShuffleWriter::TempPath(const std::string& base) {
  std::string path = UniqueTempPath(base);
  temp_files_.push_back(path);
  return path;
}

absl::Status ShuffleWriter::EnsureDir() {
  if (dir_ready_) return absl::OkStatus();
  RETURN_IF_ERROR(MakeDirs(ShuffleDir(options_.app_dir)));
  dir_ready_ = true;
  return absl::OkStatus();
}

void ShuffleWriter::FramePartition(Partition& part) {
  size_t need = encoder_.MaxFrameBytes(part.pending.size());
  if (part.chunks.empty() || part.chunks.back().capacity() - part.chunks.back().size() < need) {
    size_t capacity = std::clamp(part.framed_bytes, kMinChunkBytes, kMaxChunkBytes);
    part.chunks.emplace_back().reserve(std::max(capacity, need));
    held_bytes_ += static_cast<int64_t>(part.chunks.back().capacity());
  }
  std::string& chunk = part.chunks.back();
  size_t before = chunk.size();
  encoder_.Append(part.pending, &chunk);
  part.framed_bytes += chunk.size() - before;
  held_bytes_ -= static_cast<int64_t>(part.pending.size());
  part.pending.clear();
  part.accounted = 0;
}

absl::Status ShuffleWriter::WritePartition(Partition& part, BufferedFile* out) {
  for (const std::string& chunk : part.chunks) RETURN_IF_ERROR(out->Append(chunk));
  std::vector<std::string>().swap(part.chunks);  // give the memory back
  part.framed_bytes = 0;
  if (!part.pending.empty()) {  // too small for a chunk of its own: straight to the file
    scratch_.clear();
    encoder_.Append(part.pending, &scratch_);
    RETURN_IF_ERROR(out->Append(scratch_));
    part.pending.clear();
    part.accounted = 0;
  }
  return absl::OkStatus();
}

absl::Status ShuffleWriter::OverflowTimed(int partition) {
  ScopedNanos timed(&write_nanos_);
  return Overflow(partition);
}

absl::Status ShuffleWriter::Overflow(int partition) {
  Partition& part = partitions_[partition];
  if (static_cast<int64_t>(part.pending.size()) >= options_.frame_bytes) FramePartition(part);
  if (held_bytes_ < limit_) return absl::OkStatus();
  const WriterMemory& memory = options_.memory;
  if (memory.cover && held_bytes_ < options_.spill_bytes) {
    const int64_t covered = memory.cover(held_bytes_ + 1);
    if (covered > held_bytes_) {
      limit_ = std::min(options_.spill_bytes, covered);
      return absl::OkStatus();
    }
  }
  RETURN_IF_ERROR(Spill());
  if (memory.release) memory.release();
  limit_ = memory.cover ? 0 : options_.spill_bytes;
  return absl::OkStatus();
}

absl::Status ShuffleWriter::WriteRuns(size_t fold, bool memory, const std::string& path,
                                      std::vector<uint64_t>* offsets) {
  std::vector<ScopedFd> fds;
  for (size_t r = 0; r < fold; ++r) {
    ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(runs_[r].path, O_RDONLY, "shuffle spill file"));
    fds.push_back(std::move(fd));
  }
  std::string scratch(fold == 0 ? 0 : static_cast<size_t>(options_.io_buffer_bytes), '\0');
  BufferedFile out(&io_buffer_, static_cast<size_t>(options_.io_buffer_bytes));
  RETURN_IF_ERROR(out.Open(path));
  offsets->reserve(partitions_.size() + 1);
  for (size_t p = 0; p < partitions_.size(); ++p) {
    offsets->push_back(out.offset());
    for (size_t r = 0; r < fold; ++r) {
      const std::vector<uint64_t>& o = runs_[r].offsets;
      RETURN_IF_ERROR(
          CopyRange(fds[r].get(), runs_[r].path, o[p], o[p + 1] - o[p], &scratch, &out));
    }
    if (memory) RETURN_IF_ERROR(WritePartition(partitions_[p], &out));
  }
  offsets->push_back(out.offset());
  return out.Close();
}

absl::Status ShuffleWriter::Spill() {
  RETURN_IF_ERROR(EnsureDir());
  const std::string base = ShuffleDataPath(options_.app_dir, options_.shuffle_id, options_.map_id);
  SpillRun run{.path = TempPath(StrCat(base, ".spill", spills_++))};
  RETURN_IF_ERROR(WriteRuns(0, /*memory=*/true, run.path, &run.offsets));
  memory_spilled_ += held_bytes_;
  disk_spilled_ += static_cast<int64_t>(run.offsets.back());
  runs_.push_back(std::move(run));
  held_bytes_ = 0;
  if (runs_.size() < kMaxRuns) return absl::OkStatus();
  // Too many runs to open at once when committing: the oldest become one (in order).
  SpillRun folded{.path = TempPath(StrCat(base, ".spill", spills_++))};
  RETURN_IF_ERROR(WriteRuns(kMaxRuns, /*memory=*/false, folded.path, &folded.offsets));
  for (size_t r = 0; r < kMaxRuns; ++r) std::remove(runs_[r].path.c_str());
  runs_.erase(runs_.begin(), runs_.begin() + kMaxRuns);
  runs_.insert(runs_.begin(), std::move(folded));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> ShuffleWriter::Commit() {
  if (finished_) return absl::FailedPreconditionError("shuffle writer already finished");
  ScopedNanos timed(&write_nanos_);
  std::vector<int64_t> sizes;
  absl::Status status = CommitFiles(&sizes);
  if (!status.ok()) {
    Abort();
    return Annotate(status,
                    StrCat("committing shuffle ", options_.shuffle_id, " map ", options_.map_id));
  }
  for (const SpillRun& run : runs_) std::remove(run.path.c_str());
  temp_files_.clear();
  partitions_.clear();
  finished_ = true;
  return sizes;
}

absl::Status ShuffleWriter::CommitFiles(std::vector<int64_t>* sizes) {
  RETURN_IF_ERROR(EnsureDir());
  const std::string data_path =
      ShuffleDataPath(options_.app_dir, options_.shuffle_id, options_.map_id);
  const std::string index_path =
      ShuffleIndexPath(options_.app_dir, options_.shuffle_id, options_.map_id);
  const std::string data_tmp = TempPath(data_path);
  const std::string index_tmp = TempPath(index_path);

  std::vector<uint64_t> offsets;
  RETURN_IF_ERROR(WriteRuns(runs_.size(), /*memory=*/true, data_tmp, &offsets));

  std::string index = EncodeShuffleIndex(offsets);
  BufferedFile index_out(&io_buffer_, static_cast<size_t>(options_.io_buffer_bytes));
  RETURN_IF_ERROR(index_out.Open(index_tmp));
  RETURN_IF_ERROR(index_out.Append(index));
  RETURN_IF_ERROR(index_out.Close());

  // An earlier attempt's index goes first, so that no reader pairs it with new data.
  if (::unlink(index_path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("cannot remove ", index_path);
  }
  if (::rename(data_tmp.c_str(), data_path.c_str()) != 0) {
    return ErrnoError("cannot rename ", data_tmp);
  }
  if (::rename(index_tmp.c_str(), index_path.c_str()) != 0) {
    return ErrnoError("cannot rename ", index_tmp);
  }

  sizes->resize(partitions_.size());
  for (size_t p = 0; p < partitions_.size(); ++p) {
    (*sizes)[p] = static_cast<int64_t>(offsets[p + 1] - offsets[p]);
  }
  bytes_written_ = static_cast<int64_t>(offsets.back());
  return absl::OkStatus();
}

void ShuffleWriter::Abort() {
  for (const std::string& path : temp_files_) std::remove(path.c_str());
  temp_files_.clear();
  runs_.clear();
  partitions_.clear();
  std::string().swap(io_buffer_);
  held_bytes_ = 0;
  finished_ = true;
}

}  // namespace kiln::runtime
