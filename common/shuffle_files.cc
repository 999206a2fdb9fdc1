#include "common/shuffle_files.h"

#include <fcntl.h>

#include <cstring>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
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

namespace {

// Parsed map output indexes, by path. Every reduce task of an executor opens a block of
// each map output on its worker, as does every fetch the worker's service serves: reading
// and checking the index each time was a third of a 200x200 shuffle read from local
// disk. An entry stands while a stat finds the same file (device, inode, size, change
// and modification times): a map output written again (a retried map task) replaces its
// index by rename, which a stat sees. Bounded: past kMaxOffsets offsets in all (32 MiB;
// a map output has one per reduce partition, plus one) it starts over.
class ShuffleIndexCache {
 public:
  absl::StatusOr<std::shared_ptr<const std::vector<uint64_t>>> Get(const std::string& path) {
    absl::StatusOr<FileIdentity> identity = IdentifyFile(path);
    if (!identity.ok()) {
      // As the read would say it (NotFound for a missing map output).
      absl::StatusOr<std::vector<uint64_t>> read = ReadShuffleIndex(path);
      if (!read.ok()) return read.status();
      return std::make_shared<const std::vector<uint64_t>>(*std::move(read));
    }
    const FileIdentity& id = *identity;
    {
      absl::MutexLock lock(&mu_);
      auto it = entries_.find(path);
      if (it != entries_.end() && it->second.id == id) return it->second.offsets;
    }
    // Stat before the read: a file replaced in between is read again next time, never
    // kept under the new file's identity with the old one's offsets.
    absl::StatusOr<std::vector<uint64_t>> read = ReadShuffleIndex(path);
    if (!read.ok()) return read.status();
    auto offsets = std::make_shared<const std::vector<uint64_t>>(*std::move(read));
    absl::MutexLock lock(&mu_);
    if (offsets_ + offsets->size() > kMaxOffsets) {
      entries_.clear();
      offsets_ = 0;
    }
    Entry& entry = entries_[path];
    if (entry.offsets != nullptr) offsets_ -= entry.offsets->size();
    entry = Entry{id, offsets};
    offsets_ += offsets->size();
    return offsets;
  }

 private:
  static constexpr size_t kMaxOffsets = size_t{4} << 20;
  struct Entry {
    FileIdentity id;
    std::shared_ptr<const std::vector<uint64_t>> offsets;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  size_t offsets_ ABSL_GUARDED_BY(mu_) = 0;  // in entries_
};

ShuffleIndexCache& IndexCache() {
  static auto* cache = new ShuffleIndexCache;  // never destroyed: used until exit
  return *cache;
}

}  // namespace

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
  absl::StatusOr<std::shared_ptr<const std::vector<uint64_t>>> index = IndexCache().Get(index_path);
  if (absl::IsNotFound(index.status())) return missing(index_path);
  if (!index.ok()) return Annotate(index.status(), name);
  const std::vector<uint64_t>* offsets = index->get();
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
