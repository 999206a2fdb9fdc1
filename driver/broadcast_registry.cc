#include "driver/broadcast_registry.h"

#include <xxhash.h>

#include <algorithm>

#include "absl/base/call_once.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::internal {

struct BroadcastRegistry::Entry {
  int64_t id = 0;
  std::string type;
  absl::once_flag encode_once;
  // Under the registry's mu_:
  Encoder encode;                     // taken by the one encoding, or by Destroy
  std::shared_ptr<const void> value;  // null once destroyed
  bool destroyed = false;
  absl::Status encode_error;                   // why it could not be encoded
  std::shared_ptr<const std::string> encoded;  // null until encoded, and once destroyed
  std::vector<uint64_t> checksums;             // of each chunk
  struct Holder {
    std::string address;
    std::vector<bool> chunks;
  };
  absl::flat_hash_map<std::string, Holder> holders;  // by executor id
};

BroadcastRegistry::BroadcastRegistry(int64_t chunk_bytes, std::function<void(int64_t)> drop_copies)
    : chunk_bytes_(std::max<int64_t>(chunk_bytes, 1)), drop_copies_(std::move(drop_copies)) {}

BroadcastRegistry::~BroadcastRegistry() = default;

int64_t BroadcastRegistry::Add(std::shared_ptr<const void> value, Encoder encode,
                               std::string type) {
  auto entry = std::make_shared<Entry>();
  entry->type = std::move(type);
  entry->encode = std::move(encode);
  entry->value = std::move(value);
  absl::MutexLock lock(&mu_);
  entry->id = next_id_++;
  entries_[entry->id] = entry;
  return entry->id;
}

namespace {

template <class Entry>
absl::Status Destroyed(const Entry& entry) {
  return absl::FailedPreconditionError(
      StrCat("broadcast ", entry.id, " (", entry.type,
             ") was destroyed (Broadcast::destroy()) and cannot be used any more"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<BroadcastRegistry::Entry>> BroadcastRegistry::Find(
    int64_t id) const {
  absl::MutexLock lock(&mu_);
  return FindLocked(id);
}

absl::StatusOr<std::shared_ptr<BroadcastRegistry::Entry>> BroadcastRegistry::FindLocked(
    int64_t id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return absl::NotFoundError(StrCat("broadcast ", id, " does not exist in this application"));
  }
  if (it->second->destroyed) return Destroyed(*it->second);
  return it->second;
}

absl::StatusOr<std::shared_ptr<const void>> BroadcastRegistry::Value(int64_t id) const {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindLocked(id));
  return entry->value;
}

absl::Status BroadcastRegistry::EnsureEncoded(Entry& entry) {
  absl::call_once(entry.encode_once, [&] {
    Encoder encode;
    {
      absl::MutexLock lock(&mu_);
      encode = std::move(entry.encode);
    }
    std::string bytes = encode ? encode() : std::string();
    std::vector<uint64_t> checksums;
    for (size_t at = 0; at < bytes.size() || at == 0; at += chunk_bytes_) {
      const size_t n = std::min<size_t>(bytes.size() - at, chunk_bytes_);
      checksums.push_back(XXH64(bytes.data() + at, n, 0));
    }
    absl::MutexLock lock(&mu_);
    if (!encode) {
      entry.encode_error = absl::FailedPreconditionError(
          StrCat("broadcast ", entry.id, " was destroyed before an executor fetched it"));
    } else if (!entry.destroyed) {
      entry.encoded = std::make_shared<const std::string>(std::move(bytes));
      entry.checksums = std::move(checksums);
    }
  });
  absl::MutexLock lock(&mu_);
  if (entry.destroyed) return Destroyed(entry);
  return entry.encode_error;
}

absl::StatusOr<proto::BroadcastLocations> BroadcastRegistry::Locate(
    int64_t id, const std::string& executor, const std::string& address,
    const std::vector<int>& held_chunks) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(id));
  RETURN_IF_ERROR(EnsureEncoded(*entry));
  absl::MutexLock lock(&mu_);
  if (entry->destroyed || entry->encoded == nullptr) return Destroyed(*entry);
  const int chunks = static_cast<int>(entry->checksums.size());
  if (!held_chunks.empty() && !address.empty()) {
    Entry::Holder& holder = entry->holders[executor];
    holder.address = address;
    holder.chunks.resize(chunks);
    for (int c : held_chunks) {
      if (c >= 0 && c < chunks) holder.chunks[c] = true;
    }
  }
  proto::BroadcastLocations out;
  out.set_total_bytes(static_cast<int64_t>(entry->encoded->size()));
  out.set_chunk_bytes(chunk_bytes_);
  for (uint64_t sum : entry->checksums) out.add_checksums(sum);
  for (int c = 0; c < chunks; ++c) {
    std::vector<std::string> addresses;
    for (const auto& [holder_id, holder] : entry->holders) {
      if (holder_id == executor || holder.address == address || !holder.chunks[c]) continue;
      if (std::find(addresses.begin(), addresses.end(), holder.address) == addresses.end()) {
        addresses.push_back(holder.address);
      }
    }
    std::sort(addresses.begin(), addresses.end());
    *out.add_holders()->mutable_addresses() = {addresses.begin(), addresses.end()};
  }
  return out;
}

absl::Status BroadcastRegistry::Chunk(int64_t id, int chunk, std::string* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(id));
  RETURN_IF_ERROR(EnsureEncoded(*entry));
  std::shared_ptr<const std::string> encoded;
  {
    absl::MutexLock lock(&mu_);
    encoded = entry->encoded;
  }
  if (encoded == nullptr) return Destroyed(*entry);
  const int64_t at = static_cast<int64_t>(chunk) * chunk_bytes_;
  if (chunk < 0 || (at >= static_cast<int64_t>(encoded->size()) && chunk != 0)) {
    return absl::InvalidArgumentError(
        StrCat("broadcast ", id, " has no chunk ", chunk, " (it has ",
               (static_cast<int64_t>(encoded->size()) + chunk_bytes_ - 1) / chunk_bytes_, ")"));
  }
  out->assign(*encoded, at, chunk_bytes_);
  absl::MutexLock lock(&mu_);
  bytes_served_ += static_cast<int64_t>(out->size());
  return absl::OkStatus();
}

void BroadcastRegistry::Unpersist(int64_t id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    it->second->holders.clear();
  }
  if (drop_copies_) drop_copies_(id);
}

void BroadcastRegistry::Destroy(int64_t id) {
  std::shared_ptr<const void> value;  // freed outside the lock
  std::shared_ptr<const std::string> encoded;
  Encoder encode;  // holds the value too
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->destroyed) return;
    Entry& entry = *it->second;
    entry.destroyed = true;
    value = std::move(entry.value);
    encoded = std::move(entry.encoded);
    encode = std::move(entry.encode);
    entry.holders.clear();
  }
  if (drop_copies_) drop_copies_(id);
}

void BroadcastRegistry::ExecutorRemoved(const std::string& executor) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, entry] : entries_) entry->holders.erase(executor);
}

int64_t BroadcastRegistry::bytes_served() const {
  absl::MutexLock lock(&mu_);
  return bytes_served_;
}

}  // namespace kiln::internal
