#pragma once
// ShuffleWriter: writes the output of one shuffle map task as one data file and one
// index file (layout in shuffle_files.h; block framing in block_format.h).
//
// The caller encodes records straight into a partition's buffer and then says how many
// whole records it appended:
//
//   kiln::Writer w(writer.Buffer(p));
//   kiln::Encode(w, record);
//   RETURN_IF_ERROR(writer.Appended(p));
//
// A partition's pending bytes are framed (compressed) once they reach `frame_bytes`, and
// the frames are kept in memory. When the bytes held (pending records + the memory
// holding frames) pass `spill_bytes`, every partition's frames and pending records are
// written to a spill file, in partition order (one run), and that memory is freed.
// Memory also holds each partition's pending buffer (up to about `frame_bytes`) for
// reuse, so a writer needs about num_partitions * frame_bytes beyond `spill_bytes`.
// With a `memory` hook, the bytes held are also covered by the task's execution memory
// (in 1 MiB steps): when they cannot be, the writer spills early and gives it back.
// Commit() concatenates, per partition, the frames of each run and of memory (no
// decoding) into the data file, writes the index, and renames both into place: data
// first, then the index, so a present index means a complete output. An output left by
// an earlier attempt of the same map task is replaced (its index is removed first).
//
// Not thread-safe: one writer per map task. Without Commit(), the destructor removes
// every file the writer created.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/block_format.h"

namespace kiln::runtime {
namespace internal {
class BufferedFile;
}

// Execution memory for a writer's buffers: cover(bytes) returns how many bytes the
// task holds for them, at least `bytes` when it could get that many (less: spill);
// release() gives them back after a spill. Empty: only spill_bytes bounds the buffers.
struct WriterMemory {
  std::function<int64_t(int64_t bytes)> cover;
  std::function<void()> release;
};

struct ShuffleWriterOptions {
  std::string app_dir;  // files go to ShuffleDir(app_dir), created if missing
  int shuffle_id = 0;
  int map_id = 0;
  int num_partitions = 1;
  Compression compression = Compression::kLz4;  // kiln.io.compression.codec
  int64_t frame_bytes = kDefaultFrameBytes;     // raw bytes per frame (target)
  int64_t spill_bytes = 64 << 20;               // bytes held in memory before a spill
  int64_t io_buffer_bytes = 1 << 20;            // write buffer of the files
  WriterMemory memory;
};

class ShuffleWriter {
 public:
  explicit ShuffleWriter(ShuffleWriterOptions options);
  ~ShuffleWriter();
  ShuffleWriter(const ShuffleWriter&) = delete;
  ShuffleWriter& operator=(const ShuffleWriter&) = delete;

  // The buffer of `partition` (0 <= partition < num_partitions): append encoded records
  // to it, then call Appended(). Do not modify bytes already there.
  std::string* Buffer(int partition) { return &partitions_[partition].pending; }

  // Declares that `records` whole records were appended to Buffer(partition) since the
  // last call for it. May frame, compress or spill; fails only on I/O errors.
  absl::Status Appended(int partition, int64_t records = 1) {
    Partition& part = partitions_[partition];
    size_t size = part.pending.size();
    held_bytes_ += static_cast<int64_t>(size - part.accounted);
    part.accounted = size;
    records_ += records;
    if (static_cast<int64_t>(size) < options_.frame_bytes && held_bytes_ < limit_) {
      return absl::OkStatus();
    }
    return OverflowTimed(partition);
  }

  // Appends one already-encoded record.
  absl::Status Add(int partition, std::string_view record_bytes) {
    partitions_[partition].pending.append(record_bytes.data(), record_bytes.size());
    return Appended(partition);
  }

  // Writes and publishes the output. Returns each reduce partition's block size in
  // bytes (for the map status). The writer is finished afterwards, whatever the result.
  absl::StatusOr<std::vector<int64_t>> Commit();

  // Drops the output and removes every file the writer created. Idempotent.
  void Abort();

  int num_partitions() const { return options_.num_partitions; }
  int64_t records_written() const { return records_; }
  int64_t bytes_written() const { return bytes_written_; }  // data file size, after Commit
  int spill_count() const { return spills_; }
  int64_t memory_bytes_spilled() const { return memory_spilled_; }  // bytes held when spilling
  int64_t disk_bytes_spilled() const { return disk_spilled_; }      // bytes of the spill files
  // Time spent framing, compressing, spilling and committing (not appending records).
  int64_t write_nanos() const { return write_nanos_; }

 private:
  struct Partition {
    std::string pending;   // encoded records not framed yet
    size_t accounted = 0;  // pending.size() already counted in held_bytes_
    // Frames kept in memory, in chunks that grow up to 1 MiB, so that no frame is
    // ever copied by a reallocation and a spill frees memory chunk by chunk.
    std::vector<std::string> chunks;
    size_t framed_bytes = 0;
  };
  // The most runs kept apart (open at once when committing): past it, the oldest are
  // folded into one.
  static constexpr size_t kMaxRuns = 64;

  struct SpillRun {
    std::string path;
    std::vector<uint64_t> offsets;  // num_partitions + 1 entries
  };

  absl::Status Overflow(int partition);
  absl::Status OverflowTimed(int partition);
  void FramePartition(Partition& part);
  // Writes out and drops the partition's frames and pending records.
  absl::Status WritePartition(Partition& part, internal::BufferedFile* out);
  absl::Status Spill();
  // Writes to `path`, partition by partition, the partition's bytes in runs_[0, fold)
  // and then (if `memory`) its frames and pending records, which it drops; the start of
  // each partition, and the end, go to `offsets`.
  absl::Status WriteRuns(size_t fold, bool memory, const std::string& path,
                         std::vector<uint64_t>* offsets);
  absl::Status CommitFiles(std::vector<int64_t>* sizes);
  absl::Status EnsureDir();
  std::string TempPath(const std::string& base);

  ShuffleWriterOptions options_;
  FrameEncoder encoder_;
  std::vector<Partition> partitions_;
  std::vector<SpillRun> runs_;
  std::vector<std::string> temp_files_;  // created and not yet renamed or removed
  std::string io_buffer_;
  std::string scratch_;  // the last frame of a partition, encoded on its way to a file
  int64_t held_bytes_ = 0;
  int64_t limit_ = 0;
  int spills_ = 0;  // spill files written (runs, and runs folded together)
  int64_t memory_spilled_ = 0;
  int64_t disk_spilled_ = 0;  // held_bytes_ below this needs no check (spill_bytes, or covered)
  int64_t records_ = 0;
  int64_t bytes_written_ = 0;
  int64_t write_nanos_ = 0;
  bool dir_ready_ = false;
  bool finished_ = false;
};

}  // namespace kiln::runtime
