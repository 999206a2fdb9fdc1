#include "runtime/block_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/check.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {

std::string BlockId::Name() const { return StrCat("rdd_", dataset, "_", partition); }

struct BlockStore::State {
  struct Entry {
    std::shared_ptr<const void> data;
    int64_t bytes = 0;
    std::list<BlockId>::iterator lru;  // position in lru
    SpillFn spill;
  };
  using Blocks = absl::flat_hash_map<BlockId, Entry>;

  void EraseLocked(Blocks::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    used -= it->second.bytes;
    lru.erase(it->second.lru);
    blocks.erase(it);
  }

  mutable absl::Mutex mu;
  absl::flat_hash_map<BlockId, int64_t> disk ABSL_GUARDED_BY(mu);  // bytes per file
  Blocks blocks ABSL_GUARDED_BY(mu);
  std::list<BlockId> lru ABSL_GUARDED_BY(mu);  // least recently used first
  int64_t used ABSL_GUARDED_BY(mu) = 0;
  int64_t reserved ABSL_GUARDED_BY(mu) = 0;
};

BlockStore::BlockStore(MemoryManager* memory, std::string disk_dir)
    : memory_(memory), disk_dir_(std::move(disk_dir)), state_(std::make_unique<State>()) {
  memory_->SetEvictor(this);
}

BlockStore::~BlockStore() {
  memory_->SetEvictor(nullptr);
  memory_->ReleaseStorage(used() + reserved());
}

std::shared_ptr<const void> BlockStore::Get(BlockId id) {
  State& st = *state_;
  absl::MutexLock lock(&st.mu);
  auto it = st.blocks.find(id);
  if (it == st.blocks.end()) return nullptr;
  st.lru.splice(st.lru.end(), st.lru, it->second.lru);
  return it->second.data;
}

bool BlockStore::Reserve(int dataset, int64_t bytes, std::vector<Evicted>* evicted) {
  if (!memory_->AcquireStorage(bytes, dataset, evicted)) return false;
  absl::MutexLock lock(&state_->mu);
  state_->reserved += bytes;
  return true;
}

int64_t BlockStore::Evict(int64_t bytes, int keep_dataset, bool all_or_nothing,
                          std::vector<Evicted>* evicted) {
  State& st = *state_;
  absl::MutexLock lock(&st.mu);
  // Blocks of other datasets that nobody is reading, least recently used first.
  std::vector<BlockId> victims;
  int64_t freed = 0;
  for (const BlockId& id : st.lru) {
    if (freed >= bytes) break;
    const State::Entry& e = st.blocks.at(id);
    if (id.dataset == keep_dataset || e.data.use_count() > 1) continue;
    victims.push_back(id);
    freed += e.bytes;
  }
  if (all_or_nothing && freed < bytes) return 0;
  for (const BlockId& id : victims) {
    auto it = st.blocks.find(id);
    evicted->push_back(Evicted{id, it->second.data, std::move(it->second.spill), it->second.bytes});
    st.EraseLocked(it);
  }
  return freed;
}

void BlockStore::Release(int64_t bytes) {
  {
    absl::MutexLock lock(&state_->mu);
    KILN_CHECK(bytes <= state_->reserved);
    state_->reserved -= bytes;
  }
  memory_->ReleaseStorage(bytes);
}

void BlockStore::Put(BlockId id, std::shared_ptr<const void> data, int64_t bytes, SpillFn spill) {
  State& st = *state_;
  int64_t replaced = 0;
  {
    absl::MutexLock lock(&st.mu);
    KILN_CHECK(bytes <= st.reserved);
    st.reserved -= bytes;
    auto old = st.blocks.find(id);
    if (old != st.blocks.end()) {
      replaced = old->second.bytes;
      st.EraseLocked(old);
    }
    st.lru.push_back(id);
    st.blocks[id] = State::Entry{std::move(data), bytes, std::prev(st.lru.end()), std::move(spill)};
    st.used += bytes;
  }
  if (replaced > 0) memory_->ReleaseStorage(replaced);
}

std::string BlockStore::DiskPath(BlockId id) const { return disk_dir_ + "/" + id.Name(); }

void BlockStore::AddDisk(BlockId id, int64_t bytes) {
  absl::MutexLock lock(&state_->mu);
  state_->disk[id] = bytes;
}

bool BlockStore::OnDisk(BlockId id) const {
  absl::MutexLock lock(&state_->mu);
  return state_->disk.contains(id);
}

void BlockStore::DropDisk(BlockId id) {
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->disk.erase(id) == 0) return;
  }
  std::remove(DiskPath(id).c_str());
}

int BlockStore::RemoveDataset(int dataset) {
  State& st = *state_;
  std::vector<std::string> files;
  int removed = 0;
  int64_t freed = 0;
  {
    absl::MutexLock lock(&st.mu);
    for (auto it = st.blocks.begin(); it != st.blocks.end();) {
      auto next = std::next(it);
      if (it->first.dataset == dataset) {
        freed += it->second.bytes;
        st.EraseLocked(it);
        ++removed;
      }
      it = next;
    }
    for (auto it = st.disk.begin(); it != st.disk.end();) {
      auto next = std::next(it);
      if (it->first.dataset == dataset) {
        files.push_back(DiskPath(it->first));
        st.disk.erase(it);
        ++removed;
      }
      it = next;
    }
  }
  if (freed > 0) memory_->ReleaseStorage(freed);
  for (const std::string& f : files) std::remove(f.c_str());
  return removed;
}

int64_t BlockStore::used() const {
  absl::MutexLock lock(&state_->mu);
  return state_->used;
}

int64_t BlockStore::reserved() const {
  absl::MutexLock lock(&state_->mu);
  return state_->reserved;
}

size_t BlockStore::size() const {
  absl::MutexLock lock(&state_->mu);
  return state_->blocks.size();
}

int64_t BlockStore::disk_bytes() const {
  absl::MutexLock lock(&state_->mu);
  int64_t bytes = 0;
  for (const auto& [id, size] : state_->disk) bytes += size;
  return bytes;
}

DiskBlockWriter::DiskBlockWriter(std::string path) : path_(std::move(path)) {
  temp_ = UniqueTempPath(path_);
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
    return ErrnoError("cannot finish cached block file ", path_);
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
