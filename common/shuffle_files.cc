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

// What OpenShuffleBlock keeps of a map output: its parsed index and, once a block of it
// was read, its open data file. An entry stands while a stat of the index finds the
// same file (device, inode, size, change and modification times).
struct MapOutput {
  FileIdentity id;
  std::shared_ptr<const std::vector<uint64_t>> offsets;
  std::shared_ptr<const ScopedFd> data;  // null until a non-empty block is opened
};

// By index path. Reading and checking the index per block was a third of a 200x200
// shuffle read from local disk; opening and closing the data file per block was most of
// what the worker's shuffle service spent in the kernel per block served.
class MapOutputCache {
 public:
  // The entry of `index_path` (read now if it is not kept, or the file changed).
  absl::StatusOr<MapOutput> Get(const std::string& index_path) {
    absl::StatusOr<FileIdentity> identity = IdentifyFile(index_path);
    if (!identity.ok()) {
      {
        absl::MutexLock lock(&mu_);
        EraseLocked(index_path);  // gone: its data file need not stay open
      }
      // As the read would say it (NotFound for a missing map output).
      absl::StatusOr<std::vector<uint64_t>> read = ReadShuffleIndex(index_path);
      if (!read.ok()) return read.status();
      return MapOutput{.offsets = std::make_shared<const std::vector<uint64_t>>(*std::move(read))};
    }
    {
      absl::MutexLock lock(&mu_);
      auto it = entries_.find(index_path);
      if (it != entries_.end() && it->second.id == *identity) return it->second;
    }
    // Stat before the read: a file replaced in between is read again next time, never
    // kept under the new file's identity with the old one's offsets.
    absl::StatusOr<std::vector<uint64_t>> read = ReadShuffleIndex(index_path);
    if (!read.ok()) return read.status();
    MapOutput entry{.id = *identity,
                    .offsets = std::make_shared<const std::vector<uint64_t>>(*std::move(read))};
    absl::MutexLock lock(&mu_);
    if (offsets_ + entry.offsets->size() > kMaxOffsets) ClearLocked();
    EraseLocked(index_path);
    offsets_ += entry.offsets->size();
    entries_[index_path] = entry;
    return entry;
  }

  // Keeps `data` as the open data file of the entry `entry` came from, unless the entry
  // changed or has one already; returns the one to read.
  std::shared_ptr<const ScopedFd> KeepData(const std::string& index_path, const MapOutput& entry,
                                           std::shared_ptr<const ScopedFd> data) {
    std::vector<std::shared_ptr<const ScopedFd>> closing;  // closed after the unlock
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(index_path);
    if (it == entries_.end() || it->second.id != entry.id) return data;
    if (it->second.data != nullptr) return it->second.data;
    if (open_files_ >= kMaxOpenShuffleFiles) {
      // Closes the files kept (once no block read holds them), not the indexes: a
      // shuffle of more map outputs than that still reads each index once.
      for (auto& [path, output] : entries_) {
        if (output.data != nullptr) closing.push_back(std::move(output.data));
      }
      open_files_ = 0;
    }
    it->second.data = data;
    ++open_files_;
    return data;
  }

  // Drops the entries whose index path starts with `prefix`.
  void Forget(const std::string& prefix) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> gone;
    for (const auto& [path, entry] : entries_) {
      if (path.starts_with(prefix)) gone.push_back(path);
    }
    for (const std::string& path : gone) EraseLocked(path);
  }

 private:
  void EraseLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(path);
    if (it == entries_.end()) return;
    offsets_ -= it->second.offsets->size();
    if (it->second.data != nullptr) --open_files_;
    entries_.erase(it);
  }
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    entries_.clear();
    offsets_ = 0;
    open_files_ = 0;
  }

  static constexpr size_t kMaxOffsets = size_t{4} << 20;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, MapOutput> entries_ ABSL_GUARDED_BY(mu_);
  size_t offsets_ ABSL_GUARDED_BY(mu_) = 0;     // in entries_
  size_t open_files_ ABSL_GUARDED_BY(mu_) = 0;  // entries_ with data
};

MapOutputCache& Cache() {
  static auto* cache = new MapOutputCache;  // never destroyed: used until exit
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
  absl::StatusOr<MapOutput> output = Cache().Get(index_path);
  if (absl::IsNotFound(output.status())) return missing(index_path);
  if (!output.ok()) return Annotate(output.status(), name);
  const std::vector<uint64_t>& offsets = *output->offsets;
  const int partitions = static_cast<int>(offsets.size()) - 1;
  if (reduce_id < 0 || reduce_id >= partitions) {
    return absl::InvalidArgumentError(StrCat("reduce id ", reduce_id, " is out of range: ", name,
                                             " has ", partitions, " partitions"));
  }
  ShuffleBlockFile block;
  block.data_path = ShuffleDataPath(app_dir, shuffle_id, map_id);
  block.offset = offsets[reduce_id];
  block.length = offsets[reduce_id + 1] - block.offset;
  if (block.length == 0) return block;
  block.file = output->data;
  if (block.file == nullptr) {
    absl::StatusOr<ScopedFd> fd = OpenFile(block.data_path, O_RDONLY, "shuffle file");
    if (!fd.ok()) {
      if (absl::IsNotFound(fd.status())) return missing(block.data_path);
      return fd.status();
    }
    block.file =
        Cache().KeepData(index_path, *output, std::make_shared<const ScopedFd>(*std::move(fd)));
  }
  return block;
}

void ForgetShuffleFiles(const std::string& app_dir) { Cache().Forget(app_dir + "/"); }

}  // namespace kiln
