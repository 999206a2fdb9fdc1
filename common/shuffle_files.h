#pragma once
// Where shuffle files live and how their index reads: the one contract between the
// executor runtime (which writes them) and the worker's shuffle service (which serves
// them), in a library of its own (kiln_shuffle_files) that both link.
//
// Layout under an application's directory on a worker (<work-dir>/<app-id>):
//   shuffle/shuffle_<shuffle id>_<map id>.data   the blocks of all reduce partitions
//   shuffle/shuffle_<shuffle id>_<map id>.index  R+1 little-endian uint64 offsets;
//                                                block r is [offset[r], offset[r+1])
// A map task writes both files under temporary names and renames the index last, so a
// present index means a complete map output.
//   broadcast/broadcast_<id>_<chunk>             a chunk of a broadcast variable that an
//                                                executor fetched (written under another
//                                                name and renamed: present means whole)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/files.h"

namespace kiln {

std::string ShuffleDir(const std::string& app_dir);
std::string ShuffleDataPath(const std::string& app_dir, int shuffle_id, int map_id);
std::string ShuffleIndexPath(const std::string& app_dir, int shuffle_id, int map_id);
std::string BroadcastDir(const std::string& app_dir);
std::string BroadcastChunkPath(const std::string& app_dir, int64_t broadcast_id, int chunk);

// Reads and validates an index file (size a multiple of 8, at least 2 entries,
// offsets non-decreasing, starting at 0).
absl::StatusOr<std::vector<uint64_t>> ReadShuffleIndex(const std::string& path);
std::string EncodeShuffleIndex(const std::vector<uint64_t>& offsets);

// One reduce partition's block of a map output on this worker's disk, ready to read:
// bytes [offset, offset + length) of data_path, through fd (not open when the block is
// empty).
struct ShuffleBlockFile {
  // The map output's data file, open for reading; shared with the other blocks of the
  // same map output (see OpenShuffleBlock). Null when the block is empty.
  std::shared_ptr<const ScopedFd> file;
  std::string data_path;
  uint64_t offset = 0;
  uint64_t length = 0;
  int fd() const { return file != nullptr ? file->get() : -1; }
};

// Opens block `reduce_id` of map output (shuffle_id, map_id) under `app_dir` (what both
// the worker's shuffle service and an executor's local reads do). NotFound when the map
// output is not there, DataLoss when its index is corrupt, InvalidArgument when
// `reduce_id` is beyond its partitions; errors name the map output and the file.
//
// The process keeps each map output's parsed index and its open data file while a stat
// of the index finds the same file: every reduce task of an executor, and every fetch
// a worker serves, reads one block of each map output, and opening, checking and
// closing the files per block cost more than reading the block. A map output written
// again (a retried map task renames its data file, then its index) is opened again; a
// block already opened keeps reading the file it opened. Bounded: past
// kMaxOpenShuffleFiles open data files it closes them all (keeping the indexes), past
// 32 MiB of offsets it starts over.
absl::StatusOr<ShuffleBlockFile> OpenShuffleBlock(const std::string& app_dir, int shuffle_id,
                                                  int map_id, int reduce_id);
inline constexpr size_t kMaxOpenShuffleFiles = 256;

// Drops what OpenShuffleBlock keeps of the map outputs under `app_dir` (closing their
// data files once no block read holds them): before the directory is deleted, so that
// open files do not hold its disk space.
void ForgetShuffleFiles(const std::string& app_dir);

}  // namespace kiln
