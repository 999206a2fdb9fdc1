#include "runtime/block_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/check.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {

int64_t StorageCapacity(int64_t memory_bytes, double fraction, double storage_fraction) {
  constexpr int64_t kReserved = 300LL << 20;
  if (memory_bytes <= kReserved) return 0;
  return static_cast<int64_t>(static_cast<double>(memory_bytes - kReserved) * fraction *
                              storage_fraction);
}

std::string BlockId::Name() const { return StrCat("rdd_", dataset, "_", partition); }

std::shared_ptr<const void> BlockStore::Get(BlockId id) {
  absl::MutexLock lock(&mu_);
  auto it = blocks_.find(id);
  if (it == blocks_.end()) return nullptr;
  lru_.splice(lru_.end(), lru_, it->second.lru);
  return it->second.data;
}

bool BlockStore::Reserve(int dataset, int64_t bytes, std::vector<Evicted>* evicted) {
  absl::MutexLock lock(&mu_);
  int64_t shortfall = used_ + reserved_ + bytes - capacity_;
  if (shortfall > 0) {
    // Evict only if enough can go: blocks of other datasets that nobody is reading.
    std::vector<BlockId> victims;
    int64_t freed = 0;
    for (const BlockId& id : lru_) {
      if (freed >= shortfall) break;
      const Entry& e = blocks_.at(id);
      if (id.dataset == dataset || e.data.use_count() > 1) continue;
      victims.push_back(id);
      freed += e.bytes;
    }
    if (freed < shortfall) return false;
    for (const BlockId& id : victims) {
      auto it = blocks_.find(id);
      evicted->push_back(Evicted{id, it->second.data, std::move(it->second.spill)});
      EraseLocked(it);
    }
  }
  reserved_ += bytes;
  return true;
}

void BlockStore::Release(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  KILN_CHECK(bytes <= reserved_);
  reserved_ -= bytes;
}

void BlockStore::Put(BlockId id, std::shared_ptr<const void> data, int64_t bytes, SpillFn spill) {
  absl::MutexLock lock(&mu_);
  KILN_CHECK(bytes <= reserved_);
  reserved_ -= bytes;
  auto old = blocks_.find(id);
  if (old != blocks_.end()) EraseLocked(old);
  lru_.push_back(id);
  blocks_[id] = Entry{std::move(data), bytes, std::prev(lru_.end()), std::move(spill)};
  used_ += bytes;
}

std::string BlockStore::DiskPath(BlockId id) const { return disk_dir_ + "/" + id.Name(); }

void BlockStore::AddDisk(BlockId id, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  disk_[id] = bytes;
}

bool BlockStore::OnDisk(BlockId id) const {
  absl::MutexLock lock(&mu_);
  return disk_.contains(id);
}

void BlockStore::DropDisk(BlockId id) {
  {
    absl::MutexLock lock(&mu_);
    if (disk_.erase(id) == 0) return;
  }
  std::remove(DiskPath(id).c_str());
}

int BlockStore::RemoveDataset(int dataset) {
  std::vector<std::string> files;
  int removed = 0;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = blocks_.begin(); it != blocks_.end();) {
      auto next = std::next(it);
      if (it->first.dataset == dataset) {
        EraseLocked(it);
        ++removed;
      }
      it = next;
    }
    for (auto it = disk_.begin(); it != disk_.end();) {
      auto next = std::next(it);
      if (it->first.dataset == dataset) {
        files.push_back(DiskPath(it->first));
        disk_.erase(it);
        ++removed;
      }
      it = next;
    }
  }
  for (const std::string& f : files) std::remove(f.c_str());
  return removed;
}

void BlockStore::EraseLocked(absl::flat_hash_map<BlockId, Entry>::iterator it) {
  used_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  blocks_.erase(it);
}

int64_t BlockStore::used() const {
  absl::MutexLock lock(&mu_);
  return used_;
}

int64_t BlockStore::reserved() const {
  absl::MutexLock lock(&mu_);
  return reserved_;
}

size_t BlockStore::size() const {
  absl::MutexLock lock(&mu_);
  return blocks_.size();
}

int64_t BlockStore::disk_bytes() const {
  absl::MutexLock lock(&mu_);
  int64_t bytes = 0;
  for (const auto& [id, size] : disk_) bytes += size;
  return bytes;
}

DiskBlockWriter::DiskBlockWriter(std::string path) : path_(std::move(path)) {
  static std::atomic<uint64_t> next{0};
  temp_ = StrCat(path_, ".tmp-", getpid(), "-", next++);
  absl::StatusOr<ScopedFd> fd = OpenFile(temp_, O_WRONLY | O_CREAT | O_EXCL, "cached block file");
  if (fd.ok()) {
    fd_ = *std::move(fd);
  } else {
    open_ = fd.status();
  }
}

DiskBlockWriter::~DiskBlockWriter() {
  fd_.Reset();
  if (!committed_) std::remove(temp_.c_str());
}

absl::Status DiskBlockWriter::Flush() {
  if (!open_.ok()) return open_;
  if (raw_.empty()) return absl::OkStatus();
  framed_.clear();
  AppendFrame(Compression::kNone, raw_, &framed_);
  raw_.clear();
  RETURN_IF_ERROR(WriteAll(fd_.get(), framed_, temp_));
  bytes_ += static_cast<int64_t>(framed_.size());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> DiskBlockWriter::Commit() {
  RETURN_IF_ERROR(Flush());
  RETURN_IF_ERROR(fd_.Close(temp_));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    return ErrnoStatus(errno, StrCat("cannot finish cached block file ", path_));
  }
  committed_ = true;
  return bytes_;
}

absl::Status ReadDiskBlock(const std::string& path, FrameCallback on_frame) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_RDONLY, "cached block file"));
  FrameDecoder decoder(path);
  std::string chunk(1 << 20, '\0');
  uint64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ReadAt(fd.get(), offset, chunk.data(), chunk.size(), path));
    if (n == 0) return decoder.Finish();
    offset += n;
    RETURN_IF_ERROR(decoder.Feed(std::string_view(chunk.data(), n), on_frame));
  }
}

}  // namespace kiln::runtime
