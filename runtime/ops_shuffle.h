#pragma once
// Shuffle operators. Map side: sinks that partition records (by key hash, by key range,
// or round-robin), optionally combining values per key first, and write them through a
// ShuffleWriter. Reduce side: sources that read one reduce partition from every map
// output and merge it (reduce, group, join, sort, or pass through).

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/key_hash.h"
#include "common/strings.h"
#include "runtime/closure.h"
#include "runtime/operator.h"
#include "runtime/shuffle_env.h"
#include "runtime/shuffle_params.h"

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

// The entries of a combine map in a fixed order: by stored hash, then by key. absl's
// tables iterate in an order salted with their memory address, which changes from run
// to run; a task's output must not, so that reruns and faults leave it byte-identical.
template <class K, class V>
std::vector<std::pair<const Hashed<K>, V>*> InHashOrder(CombineMap<K, V>& map) {
  std::vector<std::pair<uint64_t, std::pair<const Hashed<K>, V>*>> order;
  order.reserve(map.size());
  for (auto& entry : map) order.emplace_back(entry.first.hash, &entry);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return KeyLess(a.second->first.key, b.second->first.key);
  });
  std::vector<std::pair<const Hashed<K>, V>*> entries;
  entries.reserve(order.size());
  for (const auto& [hash, entry] : order) entries.push_back(entry);
  return entries;
}

// Merges a batch of pairs into `map` with f(V, V) -> V, hashing each key once. The
// slot of the record kPrefetchAhead places ahead is prefetched before each merge, so
// the cache misses of a large map overlap instead of stalling one record at a time
// (prefetching the whole batch at once overflows the CPU's few outstanding-miss
// buffers: the early lines are gone by the time they are used).
template <class K, class V, class F>
void MergeInto(CombineMap<K, V>& map, std::vector<std::pair<K, V>>& batch, F& f) {
  constexpr size_t kPrefetchAhead = 16;
  thread_local std::vector<uint64_t> hashes;
  const size_t n = batch.size();
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
    auto [it, inserted] = map.try_emplace(HashedRef<K>{&kv.first, hashes[i]}, std::move(kv.second));
    if (!inserted) it->second = f(std::move(it->second), std::move(kv.second));
  }
}

// ---------------------------------------------------------------- map side

// Writes records through a ShuffleWriter; subclasses choose the partition.
template <class T>
class ShuffleSinkBase : public Consumer<T>, public Sink {
 public:
  // The params of every shuffle sink (decoded by ParseParams).
  static std::string EncodeParams(const ShuffleWriteParams& params) {
    std::string out;
    Writer w(&out);
    Encode(w, params);
    return out;
  }

  absl::Status Open(TaskContext& ctx) override {
    writer_ = ctx.shuffle->NewWriter(params_.shuffle_id, ctx.partition, params_.num_partitions);
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::StatusOr<std::vector<int64_t>> sizes = writer_->Commit();
    if (!sizes.ok()) return sizes.status();
    ctx.partition_sizes = *std::move(sizes);
    ctx.metrics.records_written = writer_->records_written();
    ctx.metrics.shuffle_bytes_written = writer_->bytes_written();
    return absl::OkStatus();
  }

 protected:
  template <class Op>
  static absl::StatusOr<std::unique_ptr<OpBase>> ParseParams(std::unique_ptr<Op> op,
                                                             std::string_view params) {
    Reader r(params);
    Decode(r, op->params_);
    if (!r.ok() || !r.done() || op->params_.num_partitions <= 0) {
      return absl::DataLossError("corrupt shuffle write parameters");
    }
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Write(int partition, const T& record) {
    Writer w(writer_->Buffer(partition));
    Encode(w, record);
    return writer_->Appended(partition);
  }

  ShuffleWriteParams params_;
  std::unique_ptr<ShuffleWriter> writer_;
};

// Partitions pairs by the hash of their key.
template <class K, class V>
class HashShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return HashShuffleSink::ParseParams(std::make_unique<HashShuffleSink>(), p);
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    const uint64_t r = static_cast<uint64_t>(this->params_.num_partitions);
    for (const auto& kv : batch) {
      absl::Status s = this->Write(static_cast<int>(KeyHash<K>()(kv.first) % r), kv);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

// reduce_by_key's map side: combines values per key in a hash map, then writes one
// record per key. When the map holds kMaxKeys keys it is written out and cleared (the
// reduce side merges partial combines anyway), which bounds memory.
template <class K, class V, class F>
class CombineShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view p) {
    auto op = std::make_unique<CombineShuffleSink>();
    absl::Status s = op->fn.Decode(c);
    if (!s.ok()) return s;
    return CombineShuffleSink::ParseParams(std::move(op), p);
  }
  absl::Status Open(TaskContext& ctx) override {
    map_.reserve(SizeHint<CombineShuffleSink>::Get());
    return ShuffleSinkBase<std::pair<K, V>>::Open(ctx);
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    MergeInto(map_, batch, fn.get());
    if (map_.size() >= kMaxKeys) return Drain();
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext& ctx) override {
    absl::Status s = Drain();
    if (!s.ok()) return s;
    return ShuffleSinkBase<std::pair<K, V>>::Finish(ctx);
  }
  Closure<F> fn;

 private:
  static constexpr size_t kMaxKeys = 1 << 20;

  absl::Status Drain() {
    SizeHint<CombineShuffleSink>::Set(map_.size());
    const uint64_t r = static_cast<uint64_t>(this->params_.num_partitions);
    // In the map's own order: the reduce side merges each key's values in map-id order
    // and emits in InHashOrder, so the order of keys within a block changes nothing.
    for (const auto& kv : map_) {
      const int partition = static_cast<int>(kv.first.hash % r);
      Writer w(this->writer_->Buffer(partition));
      Encode(w, kv.first.key);
      Encode(w, kv.second);
      absl::Status s = this->writer_->Appended(partition);
      if (!s.ok()) return s;
    }
    map_.clear();
    return absl::OkStatus();
  }

  CombineMap<K, V> map_;
};

// sort_by_key's map side: partition p holds the keys k with bounds[p-1] < k <= bounds[p]
// (ascending) so that the partitions, in order, are sorted.
template <class K, class V>
class RangeShuffleSink final : public ShuffleSinkBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    auto op = std::make_unique<RangeShuffleSink>();
    auto parsed = RangeShuffleSink::ParseParams(std::move(op), p);
    if (!parsed.ok()) return parsed;
    auto* self = dynamic_cast<RangeShuffleSink*>(parsed->get());
    if (!DecodeAll(self->params_.range_bounds, &self->bounds_)) {
      return absl::DataLossError("corrupt range bounds");
    }
    return parsed;
  }
  absl::Status Push(std::vector<std::pair<K, V>>& batch) override {
    const bool asc = this->params_.ascending;
    const int last = this->params_.num_partitions - 1;
    for (const auto& kv : batch) {
      int p = static_cast<int>(std::lower_bound(bounds_.begin(), bounds_.end(), kv.first) -
                               bounds_.begin());
      if (p > last) p = last;
      absl::Status s = this->Write(asc ? p : last - p, kv);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<K> bounds_;
};

// repartition's map side: records dealt round-robin, starting at a position derived
// from the map partition (deterministic, so a rerun writes the same output).
template <class T>
class RoundRobinShuffleSink final : public ShuffleSinkBase<T> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return RoundRobinShuffleSink::ParseParams(std::make_unique<RoundRobinShuffleSink>(), p);
  }
  absl::Status Open(TaskContext& ctx) override {
    next_partition_ = static_cast<int>(MixHash(static_cast<uint64_t>(ctx.partition)) %
                                       static_cast<uint64_t>(this->params_.num_partitions));
    return ShuffleSinkBase<T>::Open(ctx);
  }
  absl::Status Push(std::vector<T>& batch) override {
    const int r = this->params_.num_partitions;
    for (const T& x : batch) {
      absl::Status s = this->Write(next_partition_, x);
      if (!s.ok()) return s;
      if (++next_partition_ == r) next_partition_ = 0;
    }
    return absl::OkStatus();
  }

 private:
  int next_partition_ = 0;
};

// ---------------------------------------------------------------- reduce side

// Reads reduce partition `split` (a varint) of each shuffle in the params and hands
// every decoded record of type R to `on_record`.
template <class R, class OnRecord>
absl::Status ReadShuffle(TaskContext& ctx, const ShuffleReadParams& params, std::string_view split,
                         OnRecord&& on_record) {
  Reader sr(split);
  int reduce_id = static_cast<int>(sr.GetVarint());
  if (!sr.ok()) return absl::DataLossError("corrupt shuffle split");
  std::unique_ptr<ShuffleReader> reader = ctx.shuffle->NewReader();
  R record{};
  int64_t records = 0;
  absl::Status s = reader->Read(params, reduce_id, [&](std::string_view frame) -> absl::Status {
    Reader r(frame);
    while (!r.done()) {
      Decode(r, record);
      if (!r.ok()) return absl::DataLossError("corrupt record in shuffle block");
      ++records;
      on_record(record);
    }
    return absl::OkStatus();
  });
  ctx.metrics.records_read += records;
  ctx.metrics.shuffle_bytes_read += reader->metrics().local_bytes + reader->metrics().remote_bytes;
  return s;
}

template <class Op>
absl::StatusOr<std::unique_ptr<OpBase>> CreateShuffleSource(std::unique_ptr<Op> op,
                                                            std::string_view params,
                                                            size_t inputs) {
  auto parsed = ParseReadParams(params, inputs);
  if (!parsed.ok()) return parsed.status();
  op->inputs_ = *std::move(parsed);
  return std::unique_ptr<OpBase>(std::move(op));
}

template <class Out>
class ShuffleSourceBase : public SourceOf<Out> {
 public:
  std::vector<ShuffleReadParams> inputs_;

 protected:
  ShuffleSourceBase() : out_(&this->next_) {}
  BatchEmitter<Out> out_;
};

// repartition's reduce side: the records as they come.
template <class T>
class PassThroughShuffleSource final : public ShuffleSourceBase<T> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<PassThroughShuffleSource>(), p, 1);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    absl::Status emit_status;
    absl::Status s = ReadShuffle<T>(ctx, this->inputs_[0], split, [&](T& x) {
      if (emit_status.ok()) emit_status = this->out_.Emit(std::move(x));
    });
    if (!s.ok()) return s;
    if (!emit_status.ok()) return emit_status;
    return this->out_.Flush();
  }
};

// reduce_by_key's reduce side: merges the map-side combines per key.
template <class K, class V, class F>
class ReduceByKeySource final : public ShuffleSourceBase<std::pair<K, V>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view c, std::string_view p) {
    auto op = std::make_unique<ReduceByKeySource>();
    absl::Status s = op->fn.Decode(c);
    if (!s.ok()) return s;
    return CreateShuffleSource(std::move(op), p, 1);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    F& f = fn.get();
    CombineMap<K, V> map;
    map.reserve(SizeHint<ReduceByKeySource>::Get());
    std::vector<std::pair<K, V>> batch;
    batch.reserve(kBatchSize);
    absl::Status s =
        ReadShuffle<std::pair<K, V>>(ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) {
          batch.push_back(std::move(kv));
          if (batch.size() == kBatchSize) {
            MergeInto(map, batch, f);
            batch.clear();
          }
        });
    if (!s.ok()) return s;
    MergeInto(map, batch, f);
    SizeHint<ReduceByKeySource>::Set(map.size());
    for (auto* kv : InHashOrder(map)) {
      s = this->out_.Emplace(kv->first.key, std::move(kv->second));
      if (!s.ok()) return s;
    }
    return this->out_.Flush();
  }
  Closure<F> fn;
};

// group_by_key's reduce side: every value of a key, in arrival order (map-id order).
template <class K, class V>
class GroupByKeySource final : public ShuffleSourceBase<std::pair<K, std::vector<V>>> {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<GroupByKeySource>(), p, 1);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    CombineMap<K, std::vector<V>> map;
    absl::Status s =
        ReadShuffle<std::pair<K, V>>(ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) {
          HashedRef<K> ref{&kv.first, KeyHash<K>()(kv.first)};
          map.try_emplace(ref).first->second.push_back(std::move(kv.second));
        });
    if (!s.ok()) return s;
    for (auto* kv : InHashOrder(map)) {
      s = this->out_.Emplace(kv->first.key, std::move(kv->second));
      if (!s.ok()) return s;
    }
    return this->out_.Flush();
  }
};

// join's reduce side (inner join): the left side is built into a hash table, the right
// side streams past it.
template <class K, class V, class W>
class JoinSource final : public ShuffleSourceBase<std::pair<K, std::pair<V, W>>> {
 public:
  using Out = std::pair<K, std::pair<V, W>>;
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<JoinSource>(), p, 2);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    KeyMap<K, std::vector<V>> left;
    absl::Status s = ReadShuffle<std::pair<K, V>>(
        ctx, this->inputs_[0], split,
        [&](std::pair<K, V>& kv) { left[kv.first].push_back(std::move(kv.second)); });
    if (!s.ok()) return s;
    absl::Status emit_status;
    s = ReadShuffle<std::pair<K, W>>(ctx, this->inputs_[1], split, [&](std::pair<K, W>& kw) {
      auto it = left.find(kw.first);
      if (it == left.end() || !emit_status.ok()) return;
      for (const V& v : it->second) {
        emit_status =
            this->out_.Emit(std::pair<K, std::pair<V, W>>(kw.first, std::pair<V, W>(v, kw.second)));
        if (!emit_status.ok()) return;
      }
    });
    if (!s.ok()) return s;
    if (!emit_status.ok()) return emit_status;
    return this->out_.Flush();
  }
};

// left_outer_join's reduce side: the right side is built into a hash table, the left
// side streams past it; a left record without a match comes out once, with no value.
template <class K, class V, class W>
class LeftOuterJoinSource final
    : public ShuffleSourceBase<std::pair<K, std::pair<V, std::optional<W>>>> {
 public:
  using Out = std::pair<K, std::pair<V, std::optional<W>>>;
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    return CreateShuffleSource(std::make_unique<LeftOuterJoinSource>(), p, 2);
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    KeyMap<K, std::vector<W>> right;
    absl::Status s = ReadShuffle<std::pair<K, W>>(
        ctx, this->inputs_[1], split,
        [&](std::pair<K, W>& kw) { right[kw.first].push_back(std::move(kw.second)); });
    if (!s.ok()) return s;
    absl::Status emit_status;
    s = ReadShuffle<std::pair<K, V>>(ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) {
      if (!emit_status.ok()) return;
      auto it = right.find(kv.first);
      if (it == right.end()) {
        emit_status = this->out_.Emit(Out(kv.first, {std::move(kv.second), std::nullopt}));
        return;
      }
      for (const W& w : it->second) {
        emit_status = this->out_.Emit(Out(kv.first, {kv.second, w}));
        if (!emit_status.ok()) return;
      }
    });
    if (!s.ok()) return s;
    if (!emit_status.ok()) return emit_status;
    return this->out_.Flush();
  }
};

// The order that sorts `records` by key, stably (equal keys keep their order). Sorting
// small (prefix, index) entries moves 16 bytes per swap instead of whole records.
template <class K, class V>
std::vector<uint32_t> SortedOrder(const std::vector<std::pair<K, V>>& records, bool ascending) {
  const uint32_t n = static_cast<uint32_t>(records.size());
  std::vector<uint32_t> order(n);
  if constexpr (std::is_same_v<K, std::string>) {
    struct Entry {
      uint64_t prefix;  // the first 8 bytes, big-endian, zero-padded: integer order = byte order
      uint32_t index;
    };
    std::vector<Entry> entries(n);
    for (uint32_t i = 0; i < n; ++i) {
      const std::string& key = records[i].first;
      unsigned char bytes[8] = {};
      std::memcpy(bytes, key.data(), std::min<size_t>(8, key.size()));
      uint64_t prefix = 0;
      for (unsigned char b : bytes) prefix = (prefix << 8) | b;
      entries[i] = Entry{prefix, i};
    }
    auto less = [&](const Entry& a, const Entry& b) {
      if (a.prefix != b.prefix) return ascending ? a.prefix < b.prefix : b.prefix < a.prefix;
      int c = records[a.index].first.compare(records[b.index].first);
      if (c != 0) return ascending ? c < 0 : c > 0;
      return a.index < b.index;
    };
    std::sort(entries.begin(), entries.end(), less);
    for (uint32_t i = 0; i < n; ++i) order[i] = entries[i].index;
  } else {
    for (uint32_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return ascending ? records[a].first < records[b].first : records[b].first < records[a].first;
    });
  }
  return order;
}

// sort_by_key's reduce side: the partition's records sorted by key (stable, so equal
// keys keep the order of the map outputs).
template <class K, class V>
class SortSource final : public ShuffleSourceBase<std::pair<K, V>> {
 public:
  // The prefix of its params (the driver appends the read params).
  static std::string EncodeParams(bool ascending) {
    std::string prefix;
    Writer(&prefix).PutVarint(ascending ? 1 : 0);
    return prefix;
  }
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view p) {
    auto op = std::make_unique<SortSource>();
    Reader r(p);
    op->ascending_ = r.GetVarint() != 0;
    std::string_view rest = r.GetBytes(r.remaining());
    auto parsed = ParseReadParams(rest, 1);
    if (!parsed.ok()) return parsed.status();
    op->inputs_ = *std::move(parsed);
    return std::unique_ptr<OpBase>(std::move(op));
  }
  absl::Status Run(TaskContext& ctx, std::string_view split) override {
    std::vector<std::pair<K, V>> all;
    absl::Status s = ReadShuffle<std::pair<K, V>>(
        ctx, this->inputs_[0], split, [&](std::pair<K, V>& kv) { all.push_back(std::move(kv)); });
    if (!s.ok()) return s;
    for (uint32_t i : SortedOrder(all, ascending_)) {
      s = this->out_.Emit(std::move(all[i]));
      if (!s.ok()) return s;
    }
    return this->out_.Flush();
  }

 private:
  bool ascending_ = true;
};

}  // namespace kiln::runtime
