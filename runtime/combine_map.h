#pragma once
// The hash maps of the shuffle operators: combine maps that store each key with its
// hash (computed once), merging a batch of pairs with prefetching, and iteration in a
// fixed order (by hash, then key) so that outputs are the same bytes on every run.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/codec.h"
#include "common/key_hash.h"
#include "common/memory_size.h"
#include "runtime/prefix_sort.h"

namespace kiln::runtime {

template <class K>
struct HashAdapter {
  size_t operator()(const K& k) const { return static_cast<size_t>(KeyHash<K>()(k)); }
};
template <class K, class V>
using KeyMap = absl::flat_hash_map<K, V, HashAdapter<K>>;

// A key stored with its KeyHash, computed once: a combine map never hashes a key again
// (not to insert after a prefetch, not when it grows), and draining it partitions by
// the stored hash. Lookups go through HashedRef, which points at the caller's key and
// moves it into the map only when the key is new.
template <class K>
struct HashedRef {
  K* key;
  uint64_t hash;
};
template <class K>
struct Hashed {
  explicit Hashed(HashedRef<K> ref) : key(std::move(*ref.key)), hash(ref.hash) {}
  K key;
  uint64_t hash;
};
template <class K>
struct StoredHash {
  using is_transparent = void;
  size_t operator()(const Hashed<K>& k) const { return static_cast<size_t>(k.hash); }
  size_t operator()(const HashedRef<K>& k) const { return static_cast<size_t>(k.hash); }
};
template <class K>
struct StoredHashEq {
  using is_transparent = void;
  static bool Same(uint64_t ha, const K& a, uint64_t hb, const K& b) { return ha == hb && a == b; }
  bool operator()(const Hashed<K>& a, const Hashed<K>& b) const {
    return Same(a.hash, a.key, b.hash, b.key);
  }
  bool operator()(const Hashed<K>& a, const HashedRef<K>& b) const {
    return Same(a.hash, a.key, b.hash, *b.key);
  }
  bool operator()(const HashedRef<K>& a, const Hashed<K>& b) const {
    return Same(a.hash, *a.key, b.hash, b.key);
  }
};
template <class K, class V>
using CombineMap = absl::flat_hash_map<Hashed<K>, V, StoredHash<K>, StoredHashEq<K>>;

// How many keys the last combine map of an operator type held in this process (its
// tasks see similar data): the next task's map starts that large instead of growing
// through every doubling, each of which rehashes every key. One per Op type.
template <class Op>
class SizeHint {
 public:
  static size_t Get() { return size_.load(std::memory_order_relaxed); }
  static void Set(size_t keys) { size_.store(keys, std::memory_order_relaxed); }

 private:
  inline static std::atomic<size_t> size_{0};
};

// Orders keys that have no operator< by their encoding (only hash ties need it).
template <class K>
bool KeyLess(const K& a, const K& b) {
  if constexpr (requires { a < b; }) {
    return a < b;
  } else {
    std::string ea, eb;
    Writer wa(&ea), wb(&eb);
    Encode(wa, a);
    Encode(wb, b);
    return ea < eb;
  }
}

// One entry of a combine table, as InHashOrder lists them.
template <class K, class V>
struct HashedEntry {
  uint64_t hash;
  const K* key;
  V* value;
};

// Sorts entries by hash, then by key: the fixed order of a reduce task's output. absl's
// tables iterate in an order salted with their memory address, which changes from run
// to run; a task's output must not, so that reruns and faults leave it byte-identical.
// The hashes are the radix sort's prefixes (a table holds far fewer than 2^32 keys).
template <class K, class V>
void SortInHashOrder(std::vector<HashedEntry<K, V>>& entries) {
  std::vector<PrefixEntry> order;
  order.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    order.push_back(PrefixEntry{entries[i].hash, static_cast<uint32_t>(i)});
  }
  SortByPrefix(order, [&](const PrefixEntry& a, const PrefixEntry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return KeyLess(*entries[a.index].key, *entries[b.index].key);
  });
  std::vector<HashedEntry<K, V>> sorted;
  sorted.reserve(order.size());
  for (const PrefixEntry& e : order) sorted.push_back(entries[e.index]);
  entries.swap(sorted);
}

// The entries of a combine map by hash, then by key; valid until the map changes.
template <class K, class V>
std::vector<HashedEntry<K, V>> InHashOrder(CombineMap<K, V>& map) {
  std::vector<HashedEntry<K, V>> entries;
  entries.reserve(map.size());
  for (auto& [key, value] : map) entries.push_back({key.hash, &key.key, &value});
  SortInHashOrder(entries);
  return entries;
}

// The bytes a combine map's table holds (slots and control bytes); what its keys and
// values own on the heap is counted apart, as they arrive.
template <class K, class V>
int64_t TableBytes(const CombineMap<K, V>& map) {
  return static_cast<int64_t>(map.capacity() * (sizeof(typename CombineMap<K, V>::value_type) + 1));
}

// combine_by_key's functions, shipped as one closure: create(V) -> C starts a key's
// combiner from its first value, merge_value(C, V) -> C adds the next.
template <class Create, class MergeValue>
struct CombineFns {
  Create create;
  MergeValue merge_value;
};

template <class F>
inline constexpr bool kIsCombineFns = false;
template <class Create, class MergeValue>
inline constexpr bool kIsCombineFns<CombineFns<Create, MergeValue>> = true;

// A value converted to its key's first combiner only when try_emplace inserts it.
template <class C, class V, class Create>
struct FirstCombiner {
  Create* create;
  V* value;
  operator C() const { return (*create)(std::move(*value)); }  // NOLINT: implicit on purpose
};

// Folds a batch of pairs into `map`, hashing each key once: a new key's combiner is
// create(v), an existing one becomes merge(c, v). The slot of the record
// kPrefetchAhead places ahead is prefetched before each merge, so the cache misses of a
// large map overlap instead of stalling one record at a time (prefetching the whole
// batch at once overflows the CPU's few outstanding-miss buffers: the early lines are
// gone by the time they are used). Returns how much the heap memory the map's keys and
// combiners own grew (HeapBytes; 0 for plain numbers).
template <class K, class V, class C, class Create, class Merge>
int64_t MergeInto(CombineMap<K, C>& map, std::vector<std::pair<K, V>>& batch, Create& create,
                  Merge& merge) {
  constexpr size_t kPrefetchAhead = 16;
  thread_local std::vector<uint64_t> hashes;
  const size_t n = batch.size();
  int64_t heap = 0;
  hashes.resize(n);
  for (size_t i = 0; i < n; ++i) hashes[i] = KeyHash<K>()(batch[i].first);
  for (size_t i = 0; i < std::min(n, kPrefetchAhead); ++i) {
    map.prefetch(HashedRef<K>{&batch[i].first, hashes[i]});
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) {
      map.prefetch(HashedRef<K>{&batch[i + kPrefetchAhead].first, hashes[i + kPrefetchAhead]});
    }
    auto& kv = batch[i];
    auto [it, inserted] = map.try_emplace(HashedRef<K>{&kv.first, hashes[i]},
                                          FirstCombiner<C, V, Create>{&create, &kv.second});
    if (inserted) {
      heap += static_cast<int64_t>(HeapBytes<K>::Of(it->first.key) + HeapBytes<C>::Of(it->second));
    } else {
      heap -= static_cast<int64_t>(HeapBytes<C>::Of(it->second));
      it->second = merge(std::move(it->second), std::move(kv.second));
      heap += static_cast<int64_t>(HeapBytes<C>::Of(it->second));
    }
  }
  return heap;
}

}  // namespace kiln::runtime
