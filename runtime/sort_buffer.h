#pragma once
// SortBuffer: sort_by_key's reduce-side buffer. Records stay as the shuffle encoded them,
// back to back in blocks of up to 1 MiB, and are decoded only on their way out (emitted
// in order, or merged with spilled runs); a spilled run is their bytes copied in order.
// Decoded, a (10-byte key, 100-byte value) record took a 64-byte pair, a heap string of
// 112 bytes and an allocation; encoded it takes 112 bytes in a block that is written
// once, front to back. So more records fit before a spill, and a spill is a copy, not an
// encode.
//
// The order is a sort of (64-bit key prefix, index) entries (prefix_sort.h) taken as the
// records arrive: for string keys their first 8 bytes, for integer keys the whole key in
// unsigned order (ties are equal keys), so that the sort looks at a record's bytes only
// when prefixes tie. Keys of other types are decoded once into a side vector and
// compared there. Equal keys keep their arrival order (the sort is stable).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "common/memory_size.h"
#include "runtime/prefix_sort.h"

namespace kiln::runtime {

template <class K, class V>
class SortBuffer {
 public:
  using Record = std::pair<K, V>;

  explicit SortBuffer(bool ascending) : ascending_(ascending) {}

  // Adds a record: `record` decoded, `encoded` its bytes as Encode(record) wrote them.
  void Add(const Record& record, std::string_view encoded) {
    const auto index = static_cast<uint32_t>(views_.size());
    views_.push_back(Store(encoded));
    uint64_t prefix = 0;
    if constexpr (kStringKey) {
      prefix = StringPrefix(record.first);
    } else if constexpr (kIntegerKey) {
      prefix = IntegerPrefix(record.first);
    } else {
      keys_.push_back(record.first);
      key_heap_bytes_ += static_cast<int64_t>(MemoryBytes(record.first) - sizeof(K));
    }
    entries_.push_back(PrefixEntry{ascending_ ? prefix : ~prefix, index});
  }

  size_t size() const { return views_.size(); }
  bool empty() const { return views_.empty(); }

  // What the buffer holds: its blocks, its per-record vectors, and the scratch the sort
  // will take.
  int64_t memory_bytes() const {
    const auto per_record =
        sizeof(std::string_view) + 2 * sizeof(PrefixEntry) + (kPrefixOnly ? 0 : sizeof(K));
    return block_bytes_ + static_cast<int64_t>(views_.capacity() * per_record) + key_heap_bytes_;
  }

  // Sorts the records: then encoded(i), CopySorted and SortedRecords go in key order.
  // Records added after it are not in that order: Clear() first.
  void Sort() {
    if constexpr (kIntegerKey) {
      // The prefix is the key: ties are equal keys, kept in arrival order.
      SortByPrefix(entries_, [](const PrefixEntry& a, const PrefixEntry& b) {
        return a.prefix != b.prefix ? a.prefix < b.prefix : a.index < b.index;
      });
    } else {
      SortByPrefix(entries_, [this](const PrefixEntry& a, const PrefixEntry& b) {
        if (a.prefix != b.prefix) return a.prefix < b.prefix;
        const int c = CompareKeys(a.index, b.index);
        if (c != 0) return ascending_ ? c < 0 : c > 0;
        return a.index < b.index;
      });
    }
  }

  // Copies the encoded bytes of the records from `from` on (in key order once sorted),
  // at most kCopyBatch of them, to the end of `out` and returns how many.
  // Read in key order, the records are all over the buffer: copying a batch lets their
  // loads overlap (and starts those of the next batch), where decoding one record after
  // another took each cache miss in turn, at 2-3 times the cost.
  size_t CopySorted(size_t from, std::string* out) const {
    const size_t end = std::min(entries_.size(), from + kCopyBatch);
    for (size_t i = from; i < end; ++i) {
      if (i + 2 * kCopyBatch < entries_.size()) {
        __builtin_prefetch(&views_[entries_[i + 2 * kCopyBatch].index]);
      }
      if (i + kCopyBatch < entries_.size()) {
        const std::string_view next = views_[entries_[i + kCopyBatch].index];
        __builtin_prefetch(next.data());
        __builtin_prefetch(next.data() + next.size() - 1);
      }
      out->append(views_[entries_[i].index]);
    }
    return end - from;
  }

  // The i-th record (in key order once sorted), encoded.
  std::string_view encoded(size_t i) const { return views_[entries_[i].index]; }

  // Frees everything.
  void Clear() {
    std::vector<std::unique_ptr<char[]>>().swap(blocks_);
    std::vector<std::string_view>().swap(views_);
    std::vector<PrefixEntry>().swap(entries_);
    std::vector<K>().swap(keys_);
    block_bytes_ = key_heap_bytes_ = 0;
    free_ = nullptr;
    left_ = 0;
  }

 private:
  static constexpr size_t kFirstBlockBytes = size_t{64} << 10;
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  static constexpr size_t kCopyBatch = 32;
  static constexpr bool kStringKey = std::is_same_v<K, std::string>;
  static constexpr bool kIntegerKey = std::is_integral_v<K>;
  static constexpr bool kPrefixOnly = kStringKey || kIntegerKey;

  // The first 8 bytes, big-endian, zero-padded: integer order is byte order.
  static uint64_t StringPrefix(const std::string& key) {
    unsigned char bytes[8] = {};
    std::memcpy(bytes, key.data(), std::min<size_t>(8, key.size()));
    uint64_t prefix = 0;
    for (unsigned char b : bytes) prefix = (prefix << 8) | b;
    return prefix;
  }
  // The key in unsigned order: a signed key's sign bit flipped.
  static uint64_t IntegerPrefix(K key) {
    if constexpr (std::is_signed_v<K>) {
      return static_cast<uint64_t>(static_cast<int64_t>(key)) ^ (uint64_t{1} << 63);
    } else {
      return static_cast<uint64_t>(key);
    }
  }

  // <0, 0, >0 as record a's key is less than, equal to or greater than b's.
  int CompareKeys(uint32_t a, uint32_t b) const {
    if constexpr (kStringKey) {
      // A string is encoded length-prefixed: its bytes are read in place.
      Reader ra(views_[a]);
      Reader rb(views_[b]);
      const std::string_view ka = ra.GetLengthPrefixed();
      const std::string_view kb = rb.GetLengthPrefixed();
      return ka.compare(kb);
    } else {
      return keys_[a] < keys_[b] ? -1 : keys_[b] < keys_[a] ? 1 : 0;
    }
  }

  // Copies a record's bytes into the current block, or a new one when they do not fit:
  // blocks grow from kFirstBlockBytes to kBlockBytes (a small partition takes little),
  // and a record larger than that gets one of its own.
  std::string_view Store(std::string_view bytes) {
    if (bytes.size() > left_) {
      const auto grown =
          std::clamp(static_cast<size_t>(block_bytes_), kFirstBlockBytes, kBlockBytes);
      const size_t size = std::max(grown, bytes.size());
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
      block_bytes_ += static_cast<int64_t>(size);
      free_ = blocks_.back().get();
      left_ = size;
    }
    char* at = free_;
    std::memcpy(at, bytes.data(), bytes.size());
    free_ += bytes.size();
    left_ -= bytes.size();
    return std::string_view(at, bytes.size());
  }

  const bool ascending_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* free_ = nullptr;  // in the last block
  size_t left_ = 0;       // bytes free there
  int64_t block_bytes_ = 0;
  std::vector<std::string_view> views_;  // by arrival
  std::vector<PrefixEntry> entries_;     // by arrival, then by key once sorted
  std::vector<K> keys_;                  // by arrival; only for keys without a full prefix
  int64_t key_heap_bytes_ = 0;
};

// A SortBuffer's records in key order, decoded one at a time from batches that
// SortBuffer::CopySorted copies.
template <class K, class V>
class SortedRecords {
 public:
  explicit SortedRecords(const SortBuffer<K, V>& buffer) : buffer_(buffer) {}
  // Decodes the next record into `out` (reusing its storage) and returns its encoded
  // size; 0 after the last.
  size_t Next(std::pair<K, V>* out) {
    if (in_.done()) {
      batch_.clear();
      next_ += buffer_.CopySorted(next_, &batch_);
      if (batch_.empty()) return 0;
      in_ = Reader(batch_);
    }
    const size_t left = in_.remaining();
    ::kiln::Decode(in_, *out);
    return left - in_.remaining();
  }

 private:
  const SortBuffer<K, V>& buffer_;
  size_t next_ = 0;  // the first record not copied yet
  std::string batch_;
  Reader in_;
};

}  // namespace kiln::runtime
