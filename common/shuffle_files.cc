#include "common/shuffle_files.h"

#include <fcntl.h>

#include <cstring>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {

std::string ShuffleDir(const std::string& app_dir) { return app_dir + "/shuffle"; }

std::string ShuffleDataPath(const std::string& app_dir, int shuffle_id, int map_id) {
  return StrCat(ShuffleDir(app_dir), "/shuffle_", shuffle_id, "_", map_id, ".data");
}

std::string ShuffleIndexPath(const std::string& app_dir, int shuffle_id, int map_id) {
  return StrCat(ShuffleDir(app_dir), "/shuffle_", shuffle_id, "_", map_id, ".index");
}

std::string BroadcastDir(const std::string& app_dir) { return app_dir + "/broadcast"; }

std::string BroadcastChunkPath(const std::string& app_dir, int64_t broadcast_id, int chunk) {
  return StrCat(BroadcastDir(app_dir), "/broadcast_", broadcast_id, "_", chunk);
}

absl::StatusOr<std::vector<uint64_t>> ReadShuffleIndex(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (bytes.size() % 8 != 0 || bytes.size() < 16) {
    return absl::DataLossError(StrCat("shuffle index ", path, " has a bad size ", bytes.size()));
  }
  std::vector<uint64_t> offsets(bytes.size() / 8);
  std::memcpy(offsets.data(), bytes.data(), bytes.size());  // little-endian hosts only
  if (offsets[0] != 0) return absl::DataLossError(StrCat("shuffle index ", path, " is corrupt"));
  for (size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] < offsets[i - 1]) {
      return absl::DataLossError(StrCat("shuffle index ", path, " is corrupt"));
    }
  }
  return offsets;
}

std::string EncodeShuffleIndex(const std::vector<uint64_t>& offsets) {
  std::string out(offsets.size() * 8, '\0');
  std::memcpy(out.data(), offsets.data(), out.size());
  return out;
}

absl::StatusOr<ShuffleBlockFile> OpenShuffleBlock(const std::string& app_dir, int shuffle_id,
                                                  int map_id, int reduce_id) {
  const std::string name = StrCat("map output (shuffle ", shuffle_id, ", map ", map_id, ")");
  const std::string index_path = ShuffleIndexPath(app_dir, shuffle_id, map_id);
  // Names the missing file within the application's dir only: the error goes to peers,
  // who have no business knowing the worker's file system.
  auto missing = [&](const std::string& path) {
    const std::string_view within =
        path.starts_with(app_dir + "/") ? std::string_view(path).substr(app_dir.size() + 1) : path;
    return absl::NotFoundError(
        StrCat(name, " not found on this worker: no ", within, " in the application's dir"));
  };
  absl::StatusOr<std::vector<uint64_t>> offsets = ReadShuffleIndex(index_path);
  if (absl::IsNotFound(offsets.status())) return missing(index_path);
  if (!offsets.ok()) return Annotate(offsets.status(), name);
  const int partitions = static_cast<int>(offsets->size()) - 1;
  if (reduce_id < 0 || reduce_id >= partitions) {
    return absl::InvalidArgumentError(StrCat("reduce id ", reduce_id, " is out of range: ", name,
                                             " has ", partitions, " partitions"));
  }
  ShuffleBlockFile block;
  block.data_path = ShuffleDataPath(app_dir, shuffle_id, map_id);
  block.offset = (*offsets)[reduce_id];
  block.length = (*offsets)[reduce_id + 1] - block.offset;
  if (block.length == 0) return block;
  absl::StatusOr<ScopedFd> fd = OpenFile(block.data_path, O_RDONLY, "shuffle file");
  if (!fd.ok()) {
    if (absl::IsNotFound(fd.status())) return missing(block.data_path);
    return fd.status();
  }
  block.fd = *std::move(fd);
  return block;
}

}  // namespace kiln
