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

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

std::string ShuffleDir(const std::string& app_dir);
std::string ShuffleDataPath(const std::string& app_dir, int shuffle_id, int map_id);
std::string ShuffleIndexPath(const std::string& app_dir, int shuffle_id, int map_id);

// Reads and validates an index file (size a multiple of 8, at least 2 entries,
// offsets non-decreasing, starting at 0).
absl::StatusOr<std::vector<uint64_t>> ReadShuffleIndex(const std::string& path);
std::string EncodeShuffleIndex(const std::vector<uint64_t>& offsets);

}  // namespace kiln
