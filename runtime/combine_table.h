#pragma once
// CombineTable<K, C>: the combine of reduce_by_key and combine_by_key, per key, on both
// sides of the shuffle. Keys are in a hash map: string keys in a StringCombineMap
// (string_combine_map.h), others in a CombineMap (combine_map.h). Integer keys that
// turn out dense (vertex ids, row numbers, dates as days) are in a DenseWindow instead,
// where a record costs one array access instead of a hash probe: a map task of the
// PageRank benchmark folds 2.5M contributions into 540k of 2M vertex ids, at 8.5-10 ns
// a record against 14-24 in the hash map.
//
// The window is chosen when it takes at most twice the memory a hash map holding the
// same keys would: at the start from the key range of the last table of the same operator in
// this process (its tasks see similar keys, as SizeHint assumes), and whenever the keys
// in the map have doubled since the last look, from the lowest and highest key folded
// in so far (or, if that is too wide, from the keys of the latest batch with a few
// trimmed off each end). Keys outside the window stay in the map; a key is in one of
// the two, never both, so its values fold in arrival order either way and outputs do
// not change. Not thread-safe.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/key_hash.h"
#include "runtime/combine_map.h"
#include "runtime/dense_window.h"
#include "runtime/string_combine_map.h"

namespace kiln::runtime {

// The key range of the last combine of an operator type (Op) in this process.
template <class Op>
class KeyRangeHint {
 public:
  struct Range {
    int64_t low = 0;  // the keys' type's values, as int64_t
    int64_t high = 0;
    uint64_t keys = 0;  // 0: no range
  };
  static Range Get() {
    absl::MutexLock lock(&mu_);
    return range_;
  }
  static void Set(Range range) {
    absl::MutexLock lock(&mu_);
    range_ = range;
  }

 private:
  inline static absl::Mutex mu_;
  inline static Range range_ ABSL_GUARDED_BY(mu_);
};

template <class K, class C>
class CombineTable {
  static constexpr bool kDense = std::is_integral_v<K> && !std::is_same_v<K, bool>;
  static constexpr bool kStringKeys = std::is_same_v<K, std::string>;
  using Map = std::conditional_t<kStringKeys, StringCombineMap<C>, CombineMap<K, C>>;
  // Keys as the window stores them (a placeholder where keys are not integers).
  using WindowKey = std::conditional_t<kDense, K, int64_t>;
  static constexpr uint64_t kFirstLook = 4096;  // keys in the map before the first look
  static constexpr uint64_t kMaxWidth = 1ULL << 32;

 public:
  // Starts empty: with a window where the last table of operator type Op had dense keys,
  // else with a hash map as large as its map became.
  template <class Op>
  void Start() {
    if constexpr (kDense) {
      const auto range = KeyRangeHint<Op>::Get();
      const auto low = static_cast<K>(range.low);
      const auto high = static_cast<K>(range.high);
      if (range.keys > 0 && low <= high && Worth(Width(low, high), range.keys)) {
        window_.Reset(low, high);
      }
    }
    map_.reserve(SizeHint<Op>::Get());
  }

  // Remembers this table's keys for the next one of operator type Op (call before Clear).
  template <class Op>
  void Learn() {
    SizeHint<Op>::Set(map_.size());
    if constexpr (kDense) {
      if (!empty()) {
        KeyRangeHint<Op>::Set({static_cast<int64_t>(window_.size() > 0 ? window_.low() : low_),
                               static_cast<int64_t>(window_.size() > 0 ? window_.high() : high_),
                               size()});
      }
    }
  }

  size_t size() const { return map_.size() + window_.size(); }
  size_t window_size() const { return window_.size(); }  // the keys in the window
  bool empty() const { return size() == 0; }

  // The memory the table holds, but for what keys and combiners own on the heap.
  int64_t Bytes() const {
    if constexpr (kStringKeys) {
      return map_.bytes();
    } else {
      return TableBytes(map_) + window_.bytes();
    }
  }

  // Folds a batch of pairs in: a new key's combiner is create(v), an existing one
  // becomes merge(c, v). Returns how much the heap memory of keys and combiners grew.
  template <class V, class Create, class MergeFn>
  int64_t Merge(std::vector<std::pair<K, V>>& batch, Create& create, MergeFn& merge) {
    int64_t heap = 0;
    if constexpr (kDense) {
      for (const auto& kv : batch) {
        low_ = std::min(low_, static_cast<WindowKey>(kv.first));
        high_ = std::max(high_, static_cast<WindowKey>(kv.first));
      }
      if (!window_.empty()) {
        std::vector<std::pair<K, V>>& outside = Outside<V>();
        heap += FoldWindow(batch, create, merge, outside);
        if (!outside.empty()) heap += MergeInto(map_, outside, create, merge);
        outside.clear();
      } else {
        heap += MergeInto(map_, batch, create, merge);
      }
      if (map_.size() >= next_look_) Look(batch);
    } else if constexpr (kStringKeys) {
      heap += map_.Merge(batch, create, merge);
    } else {
      heap += MergeInto(map_, batch, create, merge);
    }
    return heap;
  }

  // reduce_by_key's form: a key's first value is its combiner, f(C, C) -> C merges.
  template <class F>
  int64_t Merge(std::vector<std::pair<K, C>>& batch, F& f) {
    auto first = [](C&& v) -> C { return std::move(v); };
    return Merge(batch, first, f);
  }

  // f(const K&, uint64_t hash, C&) for every key, in no particular order.
  template <class F>
  void ForEach(F f) {
    if constexpr (kDense) {
      window_.ForEach([&](K key, C& c) { f(key, KeyHash<K>()(key), c); });
    }
    if constexpr (kStringKeys) {
      std::string key;
      map_.ForEach([&](std::string_view view, uint64_t hash, C& c) {
        key.assign(view);
        f(key, hash, c);
      });
    } else {
      for (auto& [key, c] : map_) f(key.key, key.hash, c);
    }
  }

  // Every entry by hash, then by key (SortInHashOrder); valid until the table changes.
  std::vector<HashedEntry<K, C>> InHashOrder() {
    std::vector<HashedEntry<K, C>> entries;
    entries.reserve(size());
    if constexpr (kDense) {
      window_keys_.clear();
      window_keys_.reserve(window_.size());  // no reallocation: entries point into it
      window_.ForEach([&](K key, C& c) {
        window_keys_.push_back(key);
        entries.push_back({KeyHash<K>()(key), &window_keys_.back(), &c});
      });
    }
    if constexpr (kStringKeys) {
      string_keys_.clear();
      string_keys_.reserve(map_.size());  // no reallocation: entries point into it
      map_.ForEach([&](std::string_view key, uint64_t hash, C& c) {
        string_keys_.emplace_back(key);
        entries.push_back({hash, &string_keys_.back(), &c});
      });
    } else {
      for (auto& [key, c] : map_) entries.push_back({key.hash, &key.key, &c});
    }
    SortInHashOrder(entries);
    return entries;
  }

  // Drops every key and frees the memory.
  void Clear() {
    if constexpr (kStringKeys) {
      map_.clear();
      std::vector<std::string>().swap(string_keys_);
    } else {
      CombineMap<K, C>().swap(map_);
    }
    window_.Clear();
    std::vector<WindowKey>().swap(window_keys_);
    next_look_ = kFirstLook;
    low_ = std::numeric_limits<WindowKey>::max();
    high_ = std::numeric_limits<WindowKey>::min();
  }

 private:
  static uint64_t Width(WindowKey low, WindowKey high) {
    return static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
  }

  // Whether a window of `width` for `keys` keys takes at most twice the memory of a
  // hash map holding them (absl's capacity is 2^n - 1 slots, filled to at most 7/8): for
  // 8-byte combiners, keys at least 7 to 14% dense. The window is the faster of the two
  // by far, and what it holds is covered by the task's memory like the map's.
  static bool Worth(uint64_t width, uint64_t keys) {
    if (width == 0 || width > kMaxWidth) return false;
    uint64_t capacity = 1;
    while (capacity - capacity / 8 < keys) capacity = capacity * 2 + 1;
    const uint64_t map_bytes = capacity * (sizeof(typename CombineMap<K, C>::value_type) + 1);
    return static_cast<uint64_t>(DenseWindow<WindowKey, C>::BytesFor(width)) <= 2 * map_bytes;
  }

  // The map's keys have doubled since the last look. The window becomes the span of
  // every key so far if that is worth its memory, else, if that is, a span of the keys
  // of the batch just folded with a few trimmed off each end (a few far keys, such as
  // -1 for "none", must not keep the rest out); it takes in the old window's keys and
  // those of the map's that fall in it.
  template <class V>
  void Look(const std::vector<std::pair<K, V>>& batch) {
    next_look_ = std::max<uint64_t>(kFirstLook, 2 * map_.size());
    WindowKey low = low_;
    WindowKey high = high_;
    if (!Worth(Width(low, high), size()) && !Trimmed(batch, &low, &high)) return;
    if (window_.size() > 0 && window_.low() <= low && high <= window_.high()) return;
    DenseWindow<WindowKey, C> wider;
    wider.Reset(low, high);
    window_.ForEach([&](WindowKey key, C& c) { wider.Put(key, std::move(c)); });
    for (auto it = map_.begin(); it != map_.end();) {
      const auto key = static_cast<WindowKey>(it->first.key);
      if (!wider.Holds(key)) {
        ++it;
        continue;
      }
      wider.Put(key, std::move(it->second));
      map_.erase(it++);
    }
    window_.Swap(wider);
    map_.rehash(0);  // down to what the keys outside need
    next_look_ = std::max<uint64_t>(kFirstLook, 2 * map_.size());
  }

  // The narrowest trim of the batch's keys (1% off each end, then 2%, 3%, 5%, 8%) whose
  // span, widened to hold the window's, is worth a window for the share of
  // the map's keys the batch suggests it holds; false when none is.
  template <class V>
  bool Trimmed(const std::vector<std::pair<K, V>>& batch, WindowKey* low, WindowKey* high) const {
    std::vector<WindowKey> sample;
    sample.reserve(batch.size());
    for (const auto& kv : batch) sample.push_back(static_cast<WindowKey>(kv.first));
    if (sample.empty()) return false;
    std::sort(sample.begin(), sample.end());
    const size_t n = sample.size();
    for (size_t percent : {1, 2, 3, 5, 8}) {
      const size_t cut = n * percent / 100;
      *low = sample[cut];
      *high = sample[n - 1 - cut];
      if (window_.size() > 0) {
        *low = std::min(*low, window_.low());
        *high = std::max(*high, window_.high());
      }
      const auto share = static_cast<double>(n - 2 * cut) / static_cast<double>(n);
      const auto keys =
          static_cast<uint64_t>(share * static_cast<double>(map_.size())) + window_.size();
      if (Worth(Width(*low, *high), keys)) return true;
    }
    return false;
  }

  // Folds the batch's keys inside the window; moves the others to `outside`, in order.
  template <class V, class Create, class Merge>
  int64_t FoldWindow(std::vector<std::pair<K, V>>& batch, Create& create, Merge& merge,
                     std::vector<std::pair<K, V>>& outside) {
    constexpr size_t kPrefetchAhead = 16;
    const size_t n = batch.size();
    int64_t heap = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n && window_.Holds(batch[i + kPrefetchAhead].first)) {
        window_.Prefetch(batch[i + kPrefetchAhead].first);
      }
      auto& kv = batch[i];
      if (window_.Holds(kv.first)) {
        heap += window_.Fold(kv.first, std::move(kv.second), create, merge);
      } else {
        outside.push_back(std::move(kv));
      }
    }
    return heap;
  }

  template <class V>
  static std::vector<std::pair<K, V>>& Outside() {
    thread_local std::vector<std::pair<K, V>> outside;
    return outside;
  }

  Map map_;
  DenseWindow<WindowKey, C> window_;
  std::vector<WindowKey> window_keys_;    // the window's keys, for InHashOrder's entries
  std::vector<std::string> string_keys_;  // the string keys, for InHashOrder's entries
  uint64_t next_look_ = kFirstLook;       // the map's size at the next Look
  // The lowest and highest key folded in since the start.
  WindowKey low_ = std::numeric_limits<WindowKey>::max();
  WindowKey high_ = std::numeric_limits<WindowKey>::min();
};

template <class K, class C>
std::vector<HashedEntry<K, C>> InHashOrder(CombineTable<K, C>& table) {
  return table.InHashOrder();
}

}  // namespace kiln::runtime
